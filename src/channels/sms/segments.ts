/**
 * Encoding and segment count of an SMS body, as Twilio bills it. The rules are Twilio's own
 * `sms-segments-calculator` (GSM-7 with its extension table, UCS-2, surrogate pairs and graphemes
 * kept whole across segment boundaries). That library splits graphemes and builds objects per
 * character (~0.4 ms for a short SMS), so plain GSM-7 text — nearly every message — is counted here
 * with the library's own character table; anything else goes to the library itself.
 */
import { SegmentedMessage } from 'sms-segments-calculator';
import unicodeToGsmModule from 'sms-segments-calculator/dist/libs/UnicodeToGSM.js';

export type SmsEncoding = 'GSM-7' | 'UCS-2';

export interface SmsAnalysis {
  encoding: SmsEncoding;
  /** As the network counts: GSM-7 septets (2 per extension char) or UCS-2 UTF-16 code units. */
  characters: number;
  segments: number;
  /** Capacity of one segment: 160/70 for a single SMS, 153/67 once split (the UDH takes the rest). */
  perSegment: number;
  /** Distinct characters (graphemes) that forced UCS-2, e.g. ['₹']; empty for GSM-7. */
  nonGsmCharacters: string[];
}

const SINGLE_CAPACITY: Record<SmsEncoding, number> = { 'GSM-7': 160, 'UCS-2': 70 };
const SPLIT_CAPACITY: Record<SmsEncoding, number> = { 'GSM-7': 153, 'UCS-2': 67 };

// UTF-16 code unit -> GSM-7 septets (1, or 2 for the extension table); a CommonJS default export.
const GSM_SEPTETS: Record<string, number[]> = unicodeToGsmModule.default;

export function analyzeSms(text: string): SmsAnalysis {
  return analyzeGsm7(text) ?? analyzeWithLibrary(text);
}

/**
 * GSM-7 counting, or undefined as soon as a character is outside GSM-7. Every GSM-7 character is one
 * UTF-16 unit and its own grapheme, so packing septets greedily matches the library exactly: a split
 * message fills 153 septets per segment and never splits an extension character's two septets.
 */
function analyzeGsm7(text: string): SmsAnalysis | undefined {
  const capacity = SPLIT_CAPACITY['GSM-7'];
  let characters = 0;
  let segments = 1;
  let used = 0;
  for (let i = 0; i < text.length; i++) {
    const septets = GSM_SEPTETS[text.charCodeAt(i)]?.length;
    if (septets === undefined) return undefined;
    characters += septets;
    if (used + septets > capacity) {
      segments++;
      used = 0;
    }
    used += septets;
  }
  if (characters <= SINGLE_CAPACITY['GSM-7']) segments = 1;
  return {
    encoding: 'GSM-7',
    characters,
    segments,
    perSegment: segments > 1 ? capacity : SINGLE_CAPACITY['GSM-7'],
    nonGsmCharacters: [],
  };
}

function analyzeWithLibrary(text: string): SmsAnalysis {
  const message = new SegmentedMessage(text);
  const encoding = message.encodingName;
  // The library's `numberOfCharacters` counts graphemes for UCS-2; the network counts code units,
  // which is what its per-character `codeUnits` hold in both encodings.
  let characters = 0;
  for (const char of message.encodedChars) characters += char.codeUnits.length;
  const segments = message.segmentsCount;
  return {
    encoding,
    characters,
    segments,
    perSegment: segments > 1 ? SPLIT_CAPACITY[encoding] : SINGLE_CAPACITY[encoding],
    nonGsmCharacters: encoding === 'UCS-2' ? [...new Set(message.getNonGsmCharacters())] : [],
  };
}
