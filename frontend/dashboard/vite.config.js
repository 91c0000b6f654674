import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const outDir = fileURLToPath(new URL("../../packages/queuert-dashboard/src/queuert_dashboard/static", import.meta.url));

export default defineConfig({
  // Every URL relative: the page is served under whatever prefix its <base href> names.
  base: "./",
  build: {
    outDir,
    emptyOutDir: true,
    rollupOptions: {
      output: {
        // A hex hash between dots: the server marks such files immutable.
        hashCharacters: "hex",
        entryFileNames: "assets/[name].[hash].js",
        chunkFileNames: "assets/[name].[hash].js",
        assetFileNames: "assets/[name].[hash][extname]",
      },
    },
  },
});
