export { Component } from './component.js';
export type { ComponentState } from './component.js';
export { PeriodicTask } from './periodic-task.js';
