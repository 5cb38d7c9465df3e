export * from './codec.ts';
export * from './codes.ts';
export * from './devices.ts';
export * from './domain.ts';
export * from './frames.ts';
export * from './payloads.ts';
export * from './storable.ts';
export * from './streams.ts';
