import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureJavaAndMaven, findExecutable } from './debian.js';
import type { ProgressLog } from './go-build.js';
import { provisionCached, testbinRoot } from './kube-binaries.js';
import { runCommand } from './process.js';
import { sourceTreePath } from './source-tree.js';
import { VERSIONS } from './versions.js';

/** The probe's Java source, in the source tree (compiled here, not by tsc). */
const SOURCE = sourceTreePath('test/integration/sdk/java/DaprSdkProbe.java');

/** How to run the Java SDK probe: `java -cp <classpath> DaprSdkProbe <scenario> [json]`. */
export interface JavaSdkProbe {
  readonly java: string;
  readonly classpath: string;
}

function pom(version: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.outrigger</groupId>
  <artifactId>dapr-java-sdk-probe</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>io.dapr</groupId><artifactId>dapr-sdk</artifactId><version>${version}</version></dependency>
  </dependencies>
</project>
`;
}

/**
 * Fetches the Dapr Java SDK's runtime jars from Maven Central (once per version) and compiles the
 * probe against them (once per source), both cached in the testbin folder.
 */
export async function ensureJavaSdkProbe(log: ProgressLog = () => {}): Promise<JavaSdkProbe> {
  const { java, mvn } = await ensureJavaAndMaven(log);
  const version = VERSIONS.javaDaprSdk;
  const root = testbinRoot();
  const jars = await provisionCached(
    'java-dapr-sdk',
    version,
    root,
    [`libs/dapr-sdk-${version}.jar`],
    log,
    async (out) => {
      await writeFile(join(out, 'pom.xml'), pom(version));
      const plugin = `org.apache.maven.plugins:maven-dependency-plugin:${VERSIONS.mavenDependencyPlugin}`;
      await runCommand(
        mvn,
        [
          '-B',
          '-q',
          '-f',
          join(out, 'pom.xml'),
          `${plugin}:copy-dependencies`,
          '-DincludeScope=runtime',
          `-DoutputDirectory=${join(out, 'libs')}`,
        ],
        { cwd: out },
      );
    },
  );
  const libs = join(jars, 'libs');
  const source = await readFile(SOURCE);
  const digest = createHash('sha256').update(source).digest('hex').slice(0, 12);
  const classes = await provisionCached(
    'java-dapr-sdk-probe',
    `${version}-${digest}`,
    root,
    ['DaprSdkProbe.class'],
    log,
    async (out) => {
      const javac = findExecutable('javac');
      if (javac === undefined)
        throw new Error('javac not found next to java: the Java SDK probe needs a JDK');
      await runCommand(javac, ['-d', out, '-cp', `${libs}/*`, SOURCE]);
    },
  );
  if (readdirSync(libs).length === 0) throw new Error(`no jars in ${libs}`);
  return { java, classpath: `${classes}:${libs}/*` };
}
