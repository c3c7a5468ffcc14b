// The part of js-yaml 4 that src/config/fast-yaml.ts uses (the package ships no types).
declare module 'js-yaml' {
  export class Type {
    constructor(tag: string, options: { kind: 'scalar'; resolve: (data: string) => boolean; construct: (data: string) => unknown });
  }
  export class Schema {
    extend(types: { implicit: readonly Type[] }): Schema;
  }
  export const FAILSAFE_SCHEMA: Schema;
  export function load(text: string, options: { schema: Schema }): unknown;
}
