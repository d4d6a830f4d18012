import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { SegmentedMessage } from 'sms-segments-calculator';
import { analyzeSms } from '../../src/channels/sms/segments.ts';

const PAYMENT_SEED = 'LaundryConnect: Payment of ₹499.00 successful! Transaction ID: TXN8812345. Thank you!';

describe('analyzeSms follows Twilio’s published segment rules', () => {
  const cases: Array<{
    name: string;
    text: string;
    encoding: string;
    characters: number;
    segments: number;
    perSegment: number;
  }> = [
    {
      name: '160 GSM-7 chars fit one segment',
      text: 'a'.repeat(160),
      encoding: 'GSM-7',
      characters: 160,
      segments: 1,
      perSegment: 160,
    },
    {
      name: '161 GSM-7 chars need two',
      text: 'a'.repeat(161),
      encoding: 'GSM-7',
      characters: 161,
      segments: 2,
      perSegment: 153,
    },
    {
      name: '306 GSM-7 chars fit two',
      text: 'a'.repeat(306),
      encoding: 'GSM-7',
      characters: 306,
      segments: 2,
      perSegment: 153,
    },
    {
      name: '307 GSM-7 chars need three',
      text: 'a'.repeat(307),
      encoding: 'GSM-7',
      characters: 307,
      segments: 3,
      perSegment: 153,
    },
    {
      name: '80 € (extension, 2 each) fill one segment',
      text: '€'.repeat(80),
      encoding: 'GSM-7',
      characters: 160,
      segments: 1,
      perSegment: 160,
    },
    {
      name: 'one extension char tips 159 chars over',
      text: `${'a'.repeat(159)}^`,
      encoding: 'GSM-7',
      characters: 161,
      segments: 2,
      perSegment: 153,
    },
    {
      name: 'an extension char is not split across segments',
      text: `${'a'.repeat(152)}{${'a'.repeat(152)}`,
      encoding: 'GSM-7',
      characters: 306,
      segments: 3,
      perSegment: 153,
    },
    {
      name: 'accented GSM letters stay GSM-7',
      text: 'Café für Müller à Paris, ñ',
      encoding: 'GSM-7',
      characters: 26,
      segments: 1,
      perSegment: 160,
    },
    {
      name: '70 UCS-2 chars fit one segment',
      text: 'अ'.repeat(70),
      encoding: 'UCS-2',
      characters: 70,
      segments: 1,
      perSegment: 70,
    },
    {
      name: '71 UCS-2 chars need two',
      text: 'अ'.repeat(71),
      encoding: 'UCS-2',
      characters: 71,
      segments: 2,
      perSegment: 67,
    },
    {
      name: '134 UCS-2 chars fit two',
      text: 'अ'.repeat(134),
      encoding: 'UCS-2',
      characters: 134,
      segments: 2,
      perSegment: 67,
    },
    {
      name: '135 UCS-2 chars need three',
      text: 'अ'.repeat(135),
      encoding: 'UCS-2',
      characters: 135,
      segments: 3,
      perSegment: 67,
    },
    {
      name: '35 emoji are 70 UTF-16 units: one segment',
      text: '😀'.repeat(35),
      encoding: 'UCS-2',
      characters: 70,
      segments: 1,
      perSegment: 70,
    },
    {
      name: '36 emoji are 72 units: two segments',
      text: '😀'.repeat(36),
      encoding: 'UCS-2',
      characters: 72,
      segments: 2,
      perSegment: 67,
    },
    {
      name: 'an emoji is not split across segments',
      text: `${'x'.repeat(66)}😀${'x'.repeat(66)}`,
      encoding: 'UCS-2',
      characters: 134,
      segments: 3,
      perSegment: 67,
    },
    {
      name: 'GSM chars count one unit each once UCS-2',
      text: '{₹}',
      encoding: 'UCS-2',
      characters: 3,
      segments: 1,
      perSegment: 70,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const { nonGsmCharacters: _, ...counts } = analyzeSms(c.text);
      assert.deepEqual(counts, {
        encoding: c.encoding,
        characters: c.characters,
        segments: c.segments,
        perSegment: c.perSegment,
      });
    });
  }

  test('each extension character costs two septets', () => {
    for (const char of ['^', '{', '}', '\\', '[', '~', ']', '|', '€', '\f']) {
      assert.equal(analyzeSms(`a${char}`).characters, 3, JSON.stringify(char));
    }
  });

  test('the seed payment template is UCS-2 because of ₹ alone', () => {
    const analysis = analyzeSms(PAYMENT_SEED);
    assert.equal(analysis.encoding, 'UCS-2');
    assert.deepEqual(analysis.nonGsmCharacters, ['₹']);
    assert.equal(analysis.segments, 2);
    assert.equal(analyzeSms(PAYMENT_SEED.replace('₹', 'Rs.')).segments, 1);
  });

  test('non-GSM characters are listed once each, as whole graphemes', () => {
    assert.deepEqual(analyzeSms('₹1 ₹2 👍🏽 ₹3').nonGsmCharacters, ['₹', '👍🏽']);
    assert.deepEqual(analyzeSms('plain text').nonGsmCharacters, []);
  });

  test('Devanagari and Tamil are UCS-2', () => {
    for (const text of [
      'LaundryConnect: आपका ऑर्डर पुष्टि हो गया',
      'LaundryConnect: உங்கள் ஆர்டர் உறுதி செய்யப்பட்டது',
    ]) {
      const analysis = analyzeSms(text);
      assert.equal(analysis.encoding, 'UCS-2');
      assert.equal(analysis.characters, text.length);
      assert.ok(analysis.nonGsmCharacters.length > 3);
    }
  });

  test('GSM-7 counting agrees with sms-segments-calculator on random text', () => {
    const alphabet = ['a', 'Z', '7', ' ', '\n', '\r', '@', '£', 'é', 'Ä', '{', '€', '^', '\\', '|', '~'];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...alphabet), { maxLength: 700 }), (chars) => {
        const text = chars.join('');
        const reference = new SegmentedMessage(text);
        const analysis = analyzeSms(text);
        assert.equal(analysis.encoding, reference.encodingName);
        assert.equal(analysis.characters, reference.numberOfCharacters);
        assert.equal(analysis.segments, reference.segmentsCount);
      }),
      { numRuns: 500 },
    );
  });
});
