/** ComDefend (Jia et al., CVPR 2019): networks, training, the defense, its folder and the authors' weights. */
export { COMDEFEND_WIDTHS, ComCNN, ComDefendNets, RecCNN, codeChannels, convLayers, variantChannels, variantFor, type ComDefendVariant } from "./networks.js";
export { CPU_TRAIN_IMAGES, ComDefendSettingsSchema, comdefendSettings, trainImagesOf, type ComDefendSettings } from "./config.js";
export { ComDefendDefense, type ComDefendBpda, type ComDefendOptions } from "./defense.js";
export { comdefendLoss, trainComDefend, type ComDefendTrainSettings } from "./train.js";
export { COMDEFEND_FILES, isComDefendFolder, loadComDefendDefense, loadComDefendNets, readComDefendManifest, saveComDefend, type ComDefendManifest } from "./io.js";
export { comdefendFromOfficial, loadOfficialLayers, officialVariant, type OfficialArray } from "./official.js";
export { toTiles, type Tiled } from "./patches.js";
