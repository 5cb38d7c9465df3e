/**
 * ATTACHMENTS_STORAGE and the ATTACHMENTS_S3_* keys: disk by default; s3 needs a bucket and a
 * region, takes an endpoint, path-style, a prefix and a key pair (or the AWS credential chain),
 * names every missing piece, and never echoes the secret key.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { configError } from './support/config-error.ts';

const S3 = { ATTACHMENTS_STORAGE: 's3', ATTACHMENTS_S3_BUCKET: 'clinic-files', ATTACHMENTS_S3_REGION: 'us-east-1' };

describe('attachment storage settings', () => {
  it('stores on disk by default, with no S3 settings', () => {
    expect(loadConfig({}).attachments.s3).toBeUndefined();
    expect(loadConfig({ ATTACHMENTS_STORAGE: 'disk' }).attachments.s3).toBeUndefined();
  });

  it('reads every S3 key', () => {
    const config = loadConfig({
      ATTACHMENTS_STORAGE: 's3',
      ATTACHMENTS_S3_BUCKET: 'anmei-1250000000',
      ATTACHMENTS_S3_REGION: 'ap-guangzhou',
      ATTACHMENTS_S3_ENDPOINT: 'https://cos.ap-guangzhou.myqcloud.com',
      ATTACHMENTS_S3_FORCE_PATH_STYLE: 'false',
      ATTACHMENTS_S3_PREFIX: 'anmei/attachments/',
      ATTACHMENTS_S3_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      ATTACHMENTS_S3_SECRET_ACCESS_KEY: 'secret-key-example',
    });
    expect(config.attachments.s3).toEqual({
      bucket: 'anmei-1250000000',
      region: 'ap-guangzhou',
      endpoint: 'https://cos.ap-guangzhou.myqcloud.com',
      forcePathStyle: false,
      prefix: 'anmei/attachments/',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret-key-example' },
    });
  });

  it('defaults to Amazon S3, virtual-hosted style, no prefix and the AWS credential chain; AWS_REGION stands in for the region', () => {
    expect(loadConfig({ ...S3, ATTACHMENTS_S3_REGION: undefined, AWS_REGION: 'eu-central-1' }).attachments.s3).toEqual({
      bucket: 'clinic-files',
      region: 'eu-central-1',
      endpoint: undefined,
      forcePathStyle: false,
      prefix: '',
      credentials: undefined,
    });
    expect(loadConfig({ ...S3, AWS_REGION: 'eu-central-1' }).attachments.s3?.region).toBe('us-east-1');
  });

  it('names what s3 is missing', () => {
    expect(configError({ ATTACHMENTS_STORAGE: 's3', ATTACHMENTS_S3_REGION: 'us-east-1' }).message).toBe(
      "invalid configuration: ATTACHMENTS_STORAGE=s3 needs ATTACHMENTS_S3_BUCKET (the bucket's name)",
    );
    expect(configError({ ATTACHMENTS_STORAGE: 's3', ATTACHMENTS_S3_BUCKET: 'b-1' }).message).toBe(
      "invalid configuration: ATTACHMENTS_STORAGE=s3 needs ATTACHMENTS_S3_REGION (or AWS_REGION), the bucket's region: e.g. us-east-1 (AWS, MinIO), cn-hangzhou (Aliyun OSS), ap-guangzhou (Tencent COS)",
    );
    expect(configError({ ...S3, ATTACHMENTS_S3_ACCESS_KEY_ID: 'AKIDEXAMPLE' }).message).toBe(
      'invalid configuration: set both ATTACHMENTS_S3_ACCESS_KEY_ID and ATTACHMENTS_S3_SECRET_ACCESS_KEY, or neither (the AWS credential chain is used then: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, an instance or task role)',
    );
  });

  it('refuses S3 keys while ATTACHMENTS_STORAGE is disk: files would stay on each instance', () => {
    expect(configError({ ATTACHMENTS_S3_BUCKET: 'clinic-files', ATTACHMENTS_S3_REGION: 'us-east-1' }).message).toBe(
      'invalid configuration: ATTACHMENTS_S3_BUCKET, ATTACHMENTS_S3_REGION are set but ATTACHMENTS_STORAGE is disk; set ATTACHMENTS_STORAGE=s3 to store attachments in the bucket, or remove them',
    );
  });

  it.each([
    ['ATTACHMENTS_STORAGE', 'nfs', 'Invalid option: expected one of "disk"|"s3"'],
    ['ATTACHMENTS_S3_BUCKET', 'Clinic_Files', "3-63 lower-case letters, digits, . and -, as S3's bucket names"],
    ['ATTACHMENTS_S3_ENDPOINT', 'ftp://minio:9000', 'Invalid URL'],
    [
      'ATTACHMENTS_S3_PREFIX',
      'attachments',
      'empty, or folder names ending in / (letters, digits, _ . -; not starting with .)',
    ],
    [
      'ATTACHMENTS_S3_PREFIX',
      '../up/',
      'empty, or folder names ending in / (letters, digits, _ . -; not starting with .)',
    ],
    ['ATTACHMENTS_S3_FORCE_PATH_STYLE', 'yes', 'Invalid option: expected one of "0"|"1"|"true"|"false"'],
  ])('refuses %s=%s', (key, value, problem) => {
    expect(configError({ ...S3, [key]: value }).message).toBe(
      `invalid configuration: ${key}=${JSON.stringify(value)}: ${problem}`,
    );
  });

  it('never echoes the secret key, nor credentials put in the endpoint URL', () => {
    const secret = configError({ ...S3, ATTACHMENTS_S3_SECRET_ACCESS_KEY: 's'.repeat(1025) });
    expect(secret.message).toBe(
      'invalid configuration: ATTACHMENTS_S3_SECRET_ACCESS_KEY="[redacted]": Too big: expected string to have <=1024 characters',
    );
    const endpoint = configError({ ...S3, ATTACHMENTS_S3_ENDPOINT: 'https://AKID:s3cretKEY@minio.internal:9000' });
    expect(endpoint.message).toBe(
      'invalid configuration: ATTACHMENTS_S3_ENDPOINT="https://[redacted]@minio.internal:9000": credentials do not go in the URL; use ATTACHMENTS_S3_ACCESS_KEY_ID and ATTACHMENTS_S3_SECRET_ACCESS_KEY',
    );
  });
});
