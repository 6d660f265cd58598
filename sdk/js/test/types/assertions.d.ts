// Compile-time checks for the usage files beside this one: `assertType<A, B>()` compiles only
// when A and B are the same type (`any` is the same as nothing else).
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
declare function assertType<A, B>(...proof: Equal<A, B> extends true ? [] : ['the types differ']): void;
