export * from './users';
export * from './teams';
export * from './projects';
export * from './runs';
export * from './audit';
export * from './notebooks';
export * from './datasets';
