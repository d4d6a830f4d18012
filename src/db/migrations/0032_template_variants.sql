-- A/B-tested templates (issue 19, docs/templates.md#ab-variants): variant groups, their variants, and
-- the variant each delivery was sent with. The column is nullable with no default: added without
-- rewriting the table.
CREATE TABLE "template_variant_groups" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "template_variant_groups_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"type" text NOT NULL,
	"channel" text NOT NULL,
	"locale" text NOT NULL,
	"status" text DEFAULT 'running' NOT NULL,
	"metric" text DEFAULT 'delivered' NOT NULL,
	"promoted_variant_id" bigint,
	"created_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ended_at" timestamp with time zone,
	CONSTRAINT "template_variant_groups_status_check" CHECK ("template_variant_groups"."status" in ('running', 'promoted', 'stopped')),
	CONSTRAINT "template_variant_groups_metric_check" CHECK ("template_variant_groups"."metric" in ('delivered', 'replies'))
);
--> statement-breakpoint
CREATE TABLE "template_variants" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "template_variants_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"group_id" bigint NOT NULL,
	"label" text NOT NULL,
	"weight" integer NOT NULL,
	"fields" jsonb NOT NULL,
	"dlt_template_id" text,
	"dlt_text" text,
	CONSTRAINT "template_variants_weight_check" CHECK ("template_variants"."weight" >= 0 and "template_variants"."weight" <= 10000)
);
--> statement-breakpoint
ALTER TABLE "deliveries" ADD COLUMN "template_variant_id" bigint;--> statement-breakpoint
ALTER TABLE "template_variants" ADD CONSTRAINT "template_variants_group_id_template_variant_groups_id_fk" FOREIGN KEY ("group_id") REFERENCES "public"."template_variant_groups"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "template_variant_groups_running_key" ON "template_variant_groups" USING btree ("type","channel","locale") WHERE "template_variant_groups"."status" = 'running';--> statement-breakpoint
CREATE UNIQUE INDEX "template_variants_label_key" ON "template_variants" USING btree ("group_id","label");--> statement-breakpoint
ALTER TABLE "deliveries" ADD CONSTRAINT "deliveries_template_variant_id_template_variants_id_fk" FOREIGN KEY ("template_variant_id") REFERENCES "public"."template_variants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "deliveries_template_variant_idx" ON "deliveries" USING btree ("template_variant_id") WHERE "deliveries"."template_variant_id" is not null;--> statement-breakpoint
-- The SMS channel writes the variant it rendered into `details.variant` (merged by
-- lc_complete_deliveries); this copies its id into the column the figures group by, so the hot-path
-- functions stay as they are. The WHEN clause runs no function unless the variant changed.
CREATE FUNCTION lc_delivery_variant() RETURNS trigger LANGUAGE plpgsql AS $$
begin
  new.template_variant_id := (new.details -> 'variant' ->> 'id')::bigint;
  return new;
end $$;--> statement-breakpoint
CREATE TRIGGER deliveries_template_variant BEFORE UPDATE OF details ON deliveries FOR EACH ROW
  WHEN ((new.details -> 'variant' ->> 'id') IS DISTINCT FROM (old.details -> 'variant' ->> 'id'))
  EXECUTE FUNCTION lc_delivery_variant();
