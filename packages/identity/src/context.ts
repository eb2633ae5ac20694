export type { DomainContext } from '@exora/core';
