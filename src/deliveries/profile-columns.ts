import type { RecipientProfile } from '../channels/channel.ts';

/** A user's profile columns as SQL returns them (recipient loads and claims). */
export interface ProfileColumns {
  external_id: string;
  email: string | null;
  phone: string | null;
  first_name: string | null;
  last_name: string | null;
  locale: string;
  time_zone: string;
}

export function profileFromColumns(c: ProfileColumns): RecipientProfile {
  return {
    externalId: c.external_id,
    email: c.email,
    phone: c.phone,
    firstName: c.first_name,
    lastName: c.last_name,
    locale: c.locale,
    timeZone: c.time_zone,
  };
}
