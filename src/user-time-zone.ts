/**
 * The time zone a user's quiet hours, SMS caps' days, digests and schedules follow: their own
 * setting; else the zone their phone number's country implies (a +1 number is not Asia/Kolkata);
 * else the service default. Computed every time it is read rather than stored, so a new phone
 * number moves it too and there is no copy to keep in step (docs/preferences.md).
 *
 * Country → zones comes from Intl (ICU's region data: `Intl.Locale#getTimeZones`), no data package.
 */
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

/** Where no own zone and no phone says otherwise: the marketplace's home. */
export const DEFAULT_TIME_ZONE = 'Asia/Kolkata';

export type TimeZoneSource = 'user' | 'phone' | 'default';

export interface EffectiveTimeZone {
  zone: string;
  source: TimeZoneSource;
}

/**
 * Countries ICU lists with more than one zone: the zone most of their people live in (a +1 number
 * says the US or Canada, or a Caribbean country, but not which US coast, so a Californian gets New
 * York's night: closer than India's, and their own setting fixes it). Also the three phone
 * countries ICU gives no zone (Kosovo, Ascension, Tristan da Cunha). A test keeps this list
 * complete against the runtime's data.
 */
export const MAIN_ZONE: Readonly<Record<string, string>> = {
  AR: 'America/Argentina/Buenos_Aires',
  AU: 'Australia/Sydney',
  BR: 'America/Sao_Paulo',
  AC: 'Atlantic/St_Helena',
  CA: 'America/Toronto',
  CD: 'Africa/Kinshasa',
  CL: 'America/Santiago',
  CN: 'Asia/Shanghai',
  CY: 'Asia/Nicosia',
  DE: 'Europe/Berlin',
  EC: 'America/Guayaquil',
  ES: 'Europe/Madrid',
  FM: 'Pacific/Chuuk',
  GL: 'America/Nuuk',
  ID: 'Asia/Jakarta',
  KI: 'Pacific/Tarawa',
  KZ: 'Asia/Almaty',
  MH: 'Pacific/Majuro',
  MN: 'Asia/Ulaanbaatar',
  MX: 'America/Mexico_City',
  MY: 'Asia/Kuala_Lumpur',
  NZ: 'Pacific/Auckland',
  PF: 'Pacific/Tahiti',
  PG: 'Pacific/Port_Moresby',
  PS: 'Asia/Hebron',
  PT: 'Europe/Lisbon',
  RU: 'Europe/Moscow',
  UA: 'Europe/Kyiv',
  US: 'America/New_York',
  TA: 'Atlantic/St_Helena',
  UZ: 'Asia/Tashkent',
  XK: 'Europe/Belgrade',
};

/**
 * ICU keeps some zones under their old names for stability (Asia/Calcutta); we show and store the
 * current IANA name. These are the old names `getTimeZones` returns for a single-zone country (both
 * names work in Intl and PostgreSQL alike).
 */
export const CURRENT_NAME: Readonly<Record<string, string>> = {
  'Africa/Asmera': 'Africa/Asmara',
  'Asia/Calcutta': 'Asia/Kolkata',
  'Asia/Katmandu': 'Asia/Kathmandu',
  'Asia/Rangoon': 'Asia/Yangon',
  'Asia/Saigon': 'Asia/Ho_Chi_Minh',
  'Atlantic/Faeroe': 'Atlantic/Faroe',
};

const byCountry = new Map<string, string | undefined>();

/** The zone a country's phone numbers imply, or undefined when the runtime knows none for it. */
export function countryTimeZone(country: string): string | undefined {
  if (byCountry.has(country)) return byCountry.get(country);
  let zone = MAIN_ZONE[country];
  if (!zone) {
    // Node 24 has it; TypeScript's lib does not declare it yet.
    const region = new Intl.Locale(`und-${country}`) as Intl.Locale & { getTimeZones(): string[] };
    const zones = region.getTimeZones();
    // Several zones and none chosen above cannot happen (the test of MAIN_ZONE), so none is guessed.
    zone = zones.length === 1 ? (CURRENT_NAME[zones[0]!] ?? zones[0]) : undefined;
  }
  byCountry.set(country, zone);
  return zone;
}

// Parsing a number costs ~25 µs, paid per recipient on every load and claim; bounded, not an LRU.
const byPhone = new Map<string, string | undefined>();
const PHONES_KEPT = 10_000;

/** The zone a phone number's country implies; undefined for no number or a country with no zone. */
export function phoneTimeZone(phone: string | null | undefined): string | undefined {
  if (!phone) return undefined;
  if (byPhone.has(phone)) return byPhone.get(phone);
  const country = parsePhoneNumberFromString(phone)?.country;
  const zone = country ? countryTimeZone(country) : undefined;
  if (byPhone.size >= PHONES_KEPT) byPhone.clear();
  byPhone.set(phone, zone);
  return zone;
}

/** The one rule: own setting, else the phone's country, else the default. */
export function effectiveTimeZone(user: {
  timeZone: string | null;
  phone: string | null;
}): EffectiveTimeZone {
  if (user.timeZone) return { zone: user.timeZone, source: 'user' };
  const fromPhone = phoneTimeZone(user.phone);
  return fromPhone ? { zone: fromPhone, source: 'phone' } : { zone: DEFAULT_TIME_ZONE, source: 'default' };
}
