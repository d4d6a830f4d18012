-- User attributes (issue 19, docs/users.md#attributes): free-form properties the backend sets on a
-- user (city, segment, last order date…), flat with scalar values (src/users/user-attributes.ts).
-- A constant default: PostgreSQL 11+ adds the column without rewriting the table.
ALTER TABLE "users" ADD COLUMN "attributes" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
-- The audience filter asks containment only (`attributes @> '{"city":"Pune"}'`): jsonb_path_ops
-- indexes each path-and-value as one hash, smaller and faster for @> than the default opclass.
CREATE INDEX "users_attributes_idx" ON "users" USING gin ("attributes" jsonb_path_ops);
