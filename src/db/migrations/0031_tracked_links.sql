-- Tracked links (issue 19, docs/tracked-links.md): the short links the `track` filter puts in an SMS,
-- one per delivery x target (a retried attempt reuses its row and so sends the same text), and each
-- GET of one. Both go with their delivery (retention deletes deliveries; the rows cascade).
CREATE TABLE "link_clicks" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "link_clicks_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"link_id" text NOT NULL,
	"delivery_id" bigint NOT NULL,
	"clicked_at" timestamp with time zone NOT NULL,
	"client_class" text NOT NULL,
	CONSTRAINT "link_clicks_client_class_check" CHECK ("link_clicks"."client_class" in ('browser', 'bot', 'unknown'))
);
--> statement-breakpoint
CREATE TABLE "tracked_links" (
	"id" text PRIMARY KEY NOT NULL,
	"delivery_id" bigint NOT NULL,
	"target" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "link_clicks" ADD CONSTRAINT "link_clicks_link_id_tracked_links_id_fk" FOREIGN KEY ("link_id") REFERENCES "public"."tracked_links"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "link_clicks" ADD CONSTRAINT "link_clicks_delivery_id_deliveries_id_fk" FOREIGN KEY ("delivery_id") REFERENCES "public"."deliveries"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tracked_links" ADD CONSTRAINT "tracked_links_delivery_id_deliveries_id_fk" FOREIGN KEY ("delivery_id") REFERENCES "public"."deliveries"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "link_clicks_delivery_idx" ON "link_clicks" USING btree ("delivery_id","clicked_at");--> statement-breakpoint
CREATE INDEX "link_clicks_link_idx" ON "link_clicks" USING btree ("link_id");--> statement-breakpoint
CREATE UNIQUE INDEX "tracked_links_delivery_target_key" ON "tracked_links" USING btree ("delivery_id","target");