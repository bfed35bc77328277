// @ts-check
// Writes the Getting started page's pictures: the first image of each class in the official Fashion-MNIST test split
// (t10k, the 10,000 images no shipped weights were trained on), as 28x28 greyscale PNG files in public/fashion-mnist/.
// Needs Debian's dataset-fashion-mnist package (/usr/share/datasets/fashion-mnist) and a built @cnn/datasets.
//
//   node apps/docs/scripts/render-fashion-mnist.mjs
//
// PNG files come from scripts/grey-png.mjs.
import { mkdirSync, writeFileSync } from 'node:fs';
import { FashionMNIST } from '@cnn/datasets';
import { greyPng } from '../../../scripts/grey-png.mjs';

const OUT = new URL('../public/fashion-mnist/', import.meta.url);

const slug = (/** @type {string} */ name) => name.toLowerCase().replace(/[^a-z]+/g, '-');

const test = await FashionMNIST.debian({ train: false });
mkdirSync(OUT, { recursive: true });
for (let label = 0; label < test.classes.length; label++) {
  const index = test.labels.indexOf(label);
  const { data, height, width } = test.raw(index);
  const file = `${index}-${slug(test.classes[label])}.png`;
  writeFileSync(new URL(file, OUT), greyPng(data, height, width));
  console.log(`${file}: test image ${index}, "${test.classes[label]}"`);
}
