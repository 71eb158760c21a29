export * from './domain';
export * from './api';
export * from './events';
export * from './duration';
export * from './bridge';
export * from './routes';
export * from './text';
export * from './env-names';
