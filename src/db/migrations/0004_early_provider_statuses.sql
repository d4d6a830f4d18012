CREATE TABLE "early_provider_statuses" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "early_provider_statuses_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"provider_message_id" text NOT NULL,
	"report" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "early_provider_statuses_message_idx" ON "early_provider_statuses" USING btree ("provider_message_id");--> statement-breakpoint
CREATE INDEX "early_provider_statuses_received_idx" ON "early_provider_statuses" USING btree ("created_at");