-- API keys may be read-only: a viewer key looks (GET) and never changes anything (issue 15).
ALTER TABLE "api_keys" DROP CONSTRAINT "api_keys_role_check";--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_role_check" CHECK ("api_keys"."role" in ('admin', 'service', 'viewer'));