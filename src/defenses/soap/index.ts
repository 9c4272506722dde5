/** SOAP (Shi, Holtz & Mishne, ICLR 2021): models, aux losses, purification, training, the defense. */
export * from "./config.js";
export * from "./models.js";
export * from "./aux.js";
export * from "./purify.js";
export * from "./train.js";
export * from "./defense.js";
export { createSoapDefense, soapEntry } from "./entry.js";
export { auxAwareBpda, type AuxAwareBpdaOptions } from "./adaptive.js";
