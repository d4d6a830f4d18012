-- Metrics and traces (issue 20 §2, docs/metrics.md).
-- The W3C traceparent of the request that created a delivery, so the worker's send continues that
-- trace across the queue. Nullable and written only while tracing is on (OTEL_EXPORTER_OTLP_ENDPOINT):
-- with tracing off no row carries it and the hot path writes nothing more.
ALTER TABLE "deliveries" ADD COLUMN "trace_parent" text;--> statement-breakpoint
-- The rollup keeps the SMS provider a delivery went through (details.route.provider), so the
-- deliveries gauge (channel × status × provider) reads sealed slots, not every row.
ALTER TABLE "stats_delivery_slots" ADD COLUMN "provider" text;--> statement-breakpoint
-- Slots sealed before this have no provider: start the rollup again. The sealer redoes it six hours
-- of slots per statement in the background; until then the figures are read from the rows.
DELETE FROM "stats_delivery_slots";--> statement-breakpoint
DELETE FROM "stats_type_slots";--> statement-breakpoint
DELETE FROM "stats_dirty_slots";--> statement-breakpoint
UPDATE "stats_seal" SET "sealed_to" = NULL;
