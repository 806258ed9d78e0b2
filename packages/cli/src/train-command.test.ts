import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { useTestBackend } from "@contrastive/core/testing";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { existsSync } from "node:fs";
import { RECIPE_CHOICES, parseTrainArgs } from "./args.js";
import type { TrainCommand } from "./args.js";
import { runTrainCommand } from "./train-command.js";

let out: string;

beforeAll(async () => {
  await useTestBackend("wasm");
  out = await mkdtemp(join(tmpdir(), "contrastive-cli-"));
  vi.spyOn(console, "log").mockImplementation(() => undefined);
  vi.spyOn(console, "info").mockImplementation(() => undefined);
});

afterAll(async () => {
  vi.restoreAllMocks();
  await rm(out, { recursive: true, force: true });
});

function command(extra: string[]): TrainCommand {
  const parsed = parseTrainArgs([
    "--train-limit",
    "256",
    "--batch-size",
    "64",
    "--backend",
    "wasm",
    "--out",
    out,
    "--quiet",
    "--probe",
    "adam",
    ...extra,
  ]);
  if (parsed === "help") throw new Error("unexpected help");
  return parsed;
}

describe("contrastive train (small run on wasm)", () => {
  it("trains, evaluates learned and raw representations, writes report.json, and leaks nothing", async () => {
    const before = tf.memory().numTensors;
    const report = await runTrainCommand(
      command(["--epochs", "1", "--name", "small", "--probe", "both"])
    );
    expect(tf.memory().numTensors).toBe(before);
    const written = JSON.parse(
      await readFile(join(out, "small", "report.json"), "utf8")
    );
    expect(written).toEqual(report);
    expect(report.backend).toBe("wasm");
    expect(report.config).toMatchObject({
      recipe: "simclr",
      dataset: "mnist",
      epochs: 1,
      batchSize: 64,
      trainCount: 256,
      testCount: 2000,
    });
    expect(report.options).toMatchObject({ temperature: 0.5, strength: 0.5 }); // simclr's defaults
    expect(report.parameters).toBe(445_120);
    expect(report.epochs).toHaveLength(1);
    expect(report.epochs[0]!.loss).toBeGreaterThan(0);
    expect(report.epochs[0]!.loss).toBeLessThan(Math.log(127) + 0.01); // at most log(2N - 1) + rounding
    for (const metrics of [report.metrics, report.random_init, report.raw]) {
      for (const key of [
        "knn_top1",
        "linear_top1",
        "linear_adam_top1",
      ] as const) {
        expect(metrics?.[key]).toBeGreaterThan(0.3); // 10 classes: chance is ~0.1
        expect(metrics?.[key]).toBeLessThanOrEqual(1);
      }
      expect(metrics?.cluster_nmi).toBeGreaterThan(0.1);
      expect(metrics?.cluster_nmi).toBeLessThanOrEqual(1);
    }
    expect(report.raw?.knn_top1).toBeCloseTo(0.8205, 4); // raw pixels need no training: a fixed figure for this split
    expect(await readdir(join(out, "small"))).toEqual(
      expect.arrayContaining(["report.json", "report.html", "checkpoint.ckpt"])
    );
    const html = await readFile(join(out, "small", "report.html"), "utf8");
    expect(html).toMatch(
      /<title>SimCLR \(Chen et al\. 2020\): 1 epochs, seed 0<\/title>/
    );
    expect(html).toContain("<svg");
  });

  it("--resume continues from the checkpoint to the same losses as an uninterrupted run", async () => {
    const straight = await runTrainCommand(
      command(["--epochs", "2", "--name", "straight"])
    );
    await runTrainCommand(command(["--epochs", "1", "--name", "resumed"]));
    const resumed = await runTrainCommand(
      command(["--epochs", "2", "--name", "resumed", "--resume"])
    );
    expect(resumed.resumedFromEpoch).toBe(1);
    expect(resumed.epochs.map((epoch) => epoch.loss)).toEqual(
      straight.epochs.map((epoch) => epoch.loss)
    );
    expect(resumed.metrics.knn_top1).toBe(straight.metrics.knn_top1);
    expect(resumed.metrics.linear_adam_top1).toBe(
      straight.metrics.linear_adam_top1
    );
    // Resuming a finished run trains nothing and evaluates the checkpoint's weights.
    const again = await runTrainCommand(
      command([
        "--epochs",
        "2",
        "--name",
        "resumed",
        "--resume",
        "--no-baselines",
      ])
    );
    expect(again.resumedFromEpoch).toBe(2);
    expect(again.epochs.map((epoch) => epoch.loss)).toEqual(
      straight.epochs.map((epoch) => epoch.loss)
    );
    expect(again.metrics.knn_top1).toBe(straight.metrics.knn_top1);
    expect(again.raw).toBeUndefined();
  });
});

const fashionInstalled =
  existsSync("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte") ||
  existsSync("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz");

describe("every recipe runs one short epoch from the CLI (alternating mnist and fashion-mnist)", () => {
  RECIPE_CHOICES.forEach((recipe, i) => {
    const dataset = i % 2 === 0 ? "mnist" : "fashion-mnist";
    it.skipIf(dataset === "fashion-mnist" && !fashionInstalled)(
      `${recipe} on ${dataset}`,
      async () => {
        const before = tf.memory().numTensors;
        const extra =
          recipe === "infomin-sweep"
            ? ["--strengths", "0,0.5,1"]
            : recipe === "moco"
            ? ["--queue-size", "64"]
            : recipe === "instdisc"
            ? ["--negatives", "64"]
            : [];
        const report = await runTrainCommand(
          command([
            "--recipe",
            recipe,
            "--dataset",
            dataset,
            "--train-limit",
            "128",
            "--batch-size",
            "32",
            "--test-limit",
            "200",
            "--epochs",
            "1",
            "--probe",
            "adam",
            "--no-baselines",
            "--name",
            `${recipe}-${dataset}`,
            ...extra,
          ])
        );
        expect(tf.memory().numTensors).toBe(before);
        expect(report.config).toMatchObject({
          recipe,
          dataset,
          trainCount: 128,
          testCount: 200,
        });
        expect(report.epochs).toHaveLength(1);
        expect(Number.isFinite(report.epochs[0]!.loss)).toBe(true);
        expect(report.metrics.knn_top1).toBeGreaterThan(0.2); // chance is 0.1
        expect(await readdir(join(out, `${recipe}-${dataset}`))).toEqual(
          expect.arrayContaining(["report.json", "report.html"])
        );
        if (recipe === "infomin-sweep") {
          expect(report.sweep?.points.map((point) => point.strength)).toEqual([
            0, 0.5, 1,
          ]);
          expect(
            await readFile(
              join(out, `${recipe}-${dataset}`, "sweep.svg"),
              "utf8"
            )
          ).toMatch(/^<svg[^>]*>[\s\S]*<polyline/);
        }
      }
    );
  });
});
