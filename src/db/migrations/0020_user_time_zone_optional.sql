-- A user's own time zone becomes optional (issue 18): without one, the zone their phone number's
-- country implies applies, else the service default (src/user-time-zone.ts, computed when read).
-- Existing rows keep their value: 'Asia/Kolkata' was both the column default and a zone users and
-- the marketplace set on purpose, and nothing recorded which, so no row can be told to be a
-- defaulted one; nulling them would move users who chose India.
ALTER TABLE "users" ALTER COLUMN "time_zone" DROP DEFAULT;--> statement-breakpoint
ALTER TABLE "users" ALTER COLUMN "time_zone" DROP NOT NULL;
