/**
 * Where each dataset's official files are published, and the MD5 checksum of each file.
 *
 * Checksums: MNIST, Fashion-MNIST and SVHN as torchvision's dataset classes record them (the same
 * values the dataset pages publish); the CIFAR binary archives as the CIFAR page
 * (www.cs.toronto.edu/~kriz/cifar.html) lists them in its table of versions, since torchvision
 * downloads the python version instead.
 */

/** The datasets `idfr data download` fetches. */
export const DOWNLOADABLE_DATASETS = ["cifar10", "cifar100", "svhn", "mnist", "fashion-mnist"] as const;
export type DownloadableDataset = (typeof DOWNLOADABLE_DATASETS)[number];

/** An archive that is unpacked after download: the folder it holds and the files the loader reads there. */
export interface ArchiveLayout {
  /** The folder the archive unpacks to, beside the archive (e.g. "cifar-10-batches-bin"). */
  folder: string;
  /** Files inside `folder` that must exist once unpacked. */
  files: readonly string[];
}

/** One published file. */
export interface SourceFile {
  /** Its name in the dataset folder (the last part of every URL). */
  name: string;
  /** Where to get it, tried in order. */
  urls: readonly string[];
  /** MD5 of the whole file, lowercase hex. */
  md5: string;
  /** Its size in words, for messages (e.g. "162 MB"). */
  size?: string;
  /** Fetched only when asked for (SVHN's extra set). */
  optional?: boolean;
  /** Set when the file is an archive (tar.gz) the loader needs unpacked. */
  unpack?: ArchiveLayout;
}

/** A dataset's published files. */
export interface DatasetSource {
  name: DownloadableDataset;
  /** The dataset's home page, for messages and the README. */
  home: string;
  files: readonly SourceFile[];
}

/** The sources by dataset name; tests pass their own table with loopback URLs. */
export type SourceTable = Readonly<Record<DownloadableDataset, DatasetSource>>;

const KRIZ = "https://www.cs.toronto.edu/~kriz/";
const SVHN = "http://ufldl.stanford.edu/housenumbers/";
/** torchvision's MNIST mirror list: its own S3 copy first, then the original host. */
const MNIST_MIRRORS = ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"];
const FASHION_MNIST = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/";

/** The four idx files of an MNIST-style dataset, with their checksums in the official order. */
function idxSet(mirrors: readonly string[], md5: readonly [string, string, string, string]): SourceFile[] {
  const names = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"];
  return names.map((name, i) => ({ name, urls: mirrors.map((m) => m + name), md5: md5[i] }));
}

/** The official files of every downloadable dataset. */
export const DATASET_SOURCES: SourceTable = {
  cifar10: {
    name: "cifar10",
    home: `${KRIZ}cifar.html`,
    files: [{
      name: "cifar-10-binary.tar.gz",
      urls: [`${KRIZ}cifar-10-binary.tar.gz`],
      md5: "c32a1d4ab5d03f1284b67883e8d87530",
      size: "162 MB",
      unpack: {
        folder: "cifar-10-batches-bin",
        files: ["batches.meta.txt", "data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"],
      },
    }],
  },
  cifar100: {
    name: "cifar100",
    home: `${KRIZ}cifar.html`,
    files: [{
      name: "cifar-100-binary.tar.gz",
      urls: [`${KRIZ}cifar-100-binary.tar.gz`],
      md5: "03b5dce01913d631647c71ecec9e9cb8",
      size: "161 MB",
      unpack: { folder: "cifar-100-binary", files: ["train.bin", "test.bin", "fine_label_names.txt", "coarse_label_names.txt"] },
    }],
  },
  svhn: {
    name: "svhn",
    home: SVHN,
    files: [
      { name: "train_32x32.mat", urls: [`${SVHN}train_32x32.mat`], md5: "e26dedcc434d2e4c54c9b2d4a06d8373", size: "182 MB" },
      { name: "test_32x32.mat", urls: [`${SVHN}test_32x32.mat`], md5: "eb5a983be6a315427106f1b164d9cef3", size: "64 MB" },
      { name: "extra_32x32.mat", urls: [`${SVHN}extra_32x32.mat`], md5: "a93ce644f1a588dc4d68dda5feec44a7", size: "1.3 GB", optional: true },
    ],
  },
  mnist: {
    name: "mnist",
    home: "http://yann.lecun.com/exdb/mnist/",
    files: idxSet(MNIST_MIRRORS, ["f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432", "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c"]),
  },
  "fashion-mnist": {
    name: "fashion-mnist",
    home: "https://github.com/zalandoresearch/fashion-mnist",
    files: idxSet([FASHION_MNIST], ["8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe", "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310"]),
  },
};

/** Whether `name` is a dataset `idfr data download` knows. */
export function isDownloadable(name: string): name is DownloadableDataset {
  return (DOWNLOADABLE_DATASETS as readonly string[]).includes(name);
}
