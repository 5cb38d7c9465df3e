import { expect } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';

export /** The ConfigError thrown by loadConfig(env), failing the test when nothing is thrown. */
function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}
