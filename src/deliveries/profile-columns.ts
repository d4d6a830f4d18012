import type { RecipientProfile } from '../channels/channel.ts';
import { effectiveTimeZone } from '../user-time-zone.ts';

/** A user's profile columns as SQL returns them (recipient loads and claims). */
export interface ProfileColumns {
  external_id: string;
  email: string | null;
  phone: string | null;
  first_name: string | null;
  last_name: string | null;
  locale: string;
  /** Their own; the profile carries the effective zone. */
  time_zone: string | null;
}

export function profileFromColumns(c: ProfileColumns): RecipientProfile {
  return {
    externalId: c.external_id,
    email: c.email,
    phone: c.phone,
    firstName: c.first_name,
    lastName: c.last_name,
    locale: c.locale,
    timeZone: effectiveTimeZone({ timeZone: c.time_zone, phone: c.phone }).zone,
  };
}
