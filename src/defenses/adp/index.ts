/** ADP (Yoon, Hwang & Lee, ICML 2021): score network, training, purification, ensemble and the defense. */
export * from "./config.js";
export * from "./score-net.js";
export * from "./purify.js";
export * from "./ensemble.js";
export * from "./train.js";
export * from "./defense.js";
export { adpDefenseEntry } from "./entry.js";
export * from "./repeat.js";
