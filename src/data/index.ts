/**
 * The data layer: readers for each file format, the embedded datasets, the paper's splits and a
 * batch loader. Tensor conversion lives in `./tensors.js` (the only part that needs the engine).
 */
export { DataFormatError } from "./errors.js";
export * from "./types.js";
export { Rng, deriveSeed } from "./random.js";
export { parseIdx, readIdxFile, readIdxImageSet, type IdxArray } from "./formats/idx.js";
export { readCifarFiles, readLabelNames, cifarRecordSize, type CifarVariant, type Cifar100Label, type CifarReadOptions } from "./formats/cifar.js";
export { readMat, parseMatHeader, type MatArray, type MatArrayInfo, type MatClass, type MatData, type MatStorage, type MatSink, type MatVisitor } from "./formats/mat-v5.js";
export { readSvhnMat, SVHN_CLASSES } from "./formats/svhn.js";
export { readImageFolder, scanImageFolder, decodeCentreCrop, type ImageFolderIndex, type ImageFolderOptions } from "./formats/image-folder.js";
export { sniffPath, type SniffResult } from "./sniff.js";
export * from "./embedded.js";
export * from "./datasets.js";
export * from "./splits.js";
export * from "./augment.js";
export { fillBatch } from "./batch.js";
export { BatchLoader, type LoaderOptions, type ArrayBatch } from "./loader.js";
export { readDataFile } from "./sniff.js";
export { imageGrid, imageGridPng, type GridOptions } from "./grid.js";
