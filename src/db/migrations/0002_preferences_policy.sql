CREATE TABLE "inbound_sms" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "inbound_sms_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"message_sid" text NOT NULL,
	"user_id" bigint,
	"from_phone" text NOT NULL,
	"to_phone" text NOT NULL,
	"body" text NOT NULL,
	"keyword" text,
	"notification_id" bigint,
	"order_number" text,
	"confirmed" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "notification_settings" (
	"user_id" bigint PRIMARY KEY NOT NULL,
	"quiet_hours_start" text,
	"quiet_hours_end" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "notification_settings_changes" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "notification_settings_changes_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"user_id" bigint NOT NULL,
	"field" text NOT NULL,
	"from_value" text,
	"to_value" text,
	"source" text NOT NULL,
	"actor" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sms_budget_alerts" (
	"day" date NOT NULL,
	"threshold" integer NOT NULL,
	"spent" numeric(14, 5) NOT NULL,
	"budget" numeric(14, 5) NOT NULL,
	"currency" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sms_budget_alerts_day_threshold_pk" PRIMARY KEY("day","threshold")
);
--> statement-breakpoint
CREATE TABLE "sms_send_rate" (
	"sender" text PRIMARY KEY NOT NULL,
	"tokens" double precision NOT NULL,
	"refilled_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "inbound_sms" ADD CONSTRAINT "inbound_sms_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inbound_sms" ADD CONSTRAINT "inbound_sms_notification_id_notifications_id_fk" FOREIGN KEY ("notification_id") REFERENCES "public"."notifications"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notification_settings" ADD CONSTRAINT "notification_settings_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notification_settings_changes" ADD CONSTRAINT "notification_settings_changes_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "inbound_sms_message_sid_key" ON "inbound_sms" USING btree ("message_sid");--> statement-breakpoint
CREATE INDEX "inbound_sms_user_idx" ON "inbound_sms" USING btree ("user_id","created_at");--> statement-breakpoint
CREATE INDEX "inbound_sms_order_idx" ON "inbound_sms" USING btree ("order_number");--> statement-breakpoint
CREATE INDEX "notification_settings_changes_user_idx" ON "notification_settings_changes" USING btree ("user_id","created_at");