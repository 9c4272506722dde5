export * from "./module.js";
export * from "./layers.js";
export * as init from "./init.js";
