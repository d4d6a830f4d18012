import { type ParseArgsConfig, parseArgs } from 'node:util';
import { type Config, ConfigError, loadConfig } from '../config.ts';

export interface Command {
  summary: string;
  run(argv: string[]): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * Parse a command's flags with node:util, answering `--help` and usage errors the same way for
 * every command. Returns null when the command should exit with `exitCode`.
 */
export type ParsedValues = Record<string, string | boolean | string[] | boolean[] | undefined>;

export function parseCommand(
  argv: string[],
  options: Options,
  help: string,
): { values: ParsedValues } | { exitCode: number } {
  try {
    const { values } = parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      strict: true,
    });
    if (values.help) {
      console.log(help);
      return { exitCode: 0 };
    }
    return { values };
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${help}`);
    return { exitCode: 2 };
  }
}

/** Load configuration or explain what is wrong with it. */
export function configOrExit(): Config | undefined {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return undefined;
    }
    throw err;
  }
}
