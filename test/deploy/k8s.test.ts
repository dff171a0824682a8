/**
 * deploy/k8s renders with kustomize, every object is valid against the Kubernetes API
 * schemas (kubernetes-models), and the rendered cluster has the properties natter needs:
 * unprivileged pods, probes on the health endpoints, resources, PDBs, an edge behind a
 * LoadBalancer with an HPA and a drain that fits its grace period, a three-node NATS with
 * `sync_interval: always`, and network policies that let only the edge be reached.
 *
 * Nothing here talks to a cluster: it checks what `kubectl apply -k` would send.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import { NATS_PASSWORD_PATTERN, NATS_USERS, passwordVariable, renderUsersConf } from "../../deploy/nats/permissions.ts";
import { Policies, type Endpoint } from "./network-policy.ts";
import {
  k8sServiceEnvs,
  KUSTOMIZATIONS,
  natterService,
  renderKustomization,
  STAND_IN_NATS_PASSWORDS,
  which,
  workloads,
  type Container,
  type K8sObject,
  type Workload,
} from "./support.ts";

/** The class that validates each kind natter's manifests use; a new kind needs its line. */
const MODELS: Record<string, { apiVersion: string; create(data: never): { validate(): void } }> = {
  Namespace: { apiVersion: Namespace.apiVersion, create: (d) => new Namespace(d) },
  ConfigMap: { apiVersion: ConfigMap.apiVersion, create: (d) => new ConfigMap(d) },
  Secret: { apiVersion: Secret.apiVersion, create: (d) => new Secret(d) },
  Service: { apiVersion: Service.apiVersion, create: (d) => new Service(d) },
  Deployment: { apiVersion: Deployment.apiVersion, create: (d) => new Deployment(d) },
  StatefulSet: { apiVersion: StatefulSet.apiVersion, create: (d) => new StatefulSet(d) },
  HorizontalPodAutoscaler: { apiVersion: HorizontalPodAutoscaler.apiVersion, create: (d) => new HorizontalPodAutoscaler(d) },
  PodDisruptionBudget: { apiVersion: PodDisruptionBudget.apiVersion, create: (d) => new PodDisruptionBudget(d) },
  NetworkPolicy: { apiVersion: NetworkPolicy.apiVersion, create: (d) => new NetworkPolicy(d) },
};

/** Secrets the operator makes (docs/DEPLOY.md); everything else a pod uses must be rendered. */
const OPERATOR_SECRETS: Record<(typeof KUSTOMIZATIONS)[number], string[]> = {
  "deploy/k8s/base": ["natter-jwt-keys", "natter-database", "natter-postgres", "natter-edge-tls", "natter-nats-users"],
  "deploy/k8s/overlays/local": ["natter-jwt-keys"],
};

/** Stand-ins for the operator's Secrets, so that the services' environment can be read. */
const OPERATOR_VALUES = {
  "natter-jwt-keys/AUTH_JWT_KEYS": "[]",
  "natter-database/DATABASE_URL": "postgres://db.example.com/natter",
  ...Object.fromEntries(Object.entries(STAND_IN_NATS_PASSWORDS).map(([name, value]) => [`natter-nats-users/${name}`, value])),
};

const kubectl = which("kubectl");
if (!kubectl) console.log("# kubectl is not installed: deploy/k8s is not rendered or checked");

const byKind = (objects: readonly K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);
const named = (objects: readonly K8sObject[], kind: string, name: string) => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  assert.ok(found, `no ${kind} ${name}`);
  return found;
};
const spec = (o: K8sObject) => o["spec"] as Record<string, any>;

for (const dir of KUSTOMIZATIONS) {
  describe(`kustomize ${dir}`, { skip: kubectl ? false : "kubectl is not installed" }, () => {
    let objects: K8sObject[] = [];
    let pods: Workload[] = [];
    before(async () => {
      objects = await renderKustomization(dir);
      pods = workloads(objects);
    });

    it("renders objects", () => {
      assert.ok(objects.length > 10, `only ${objects.length} objects`);
    });

    it("validates every object against the Kubernetes schema of its kind", () => {
      for (const object of objects) {
        const model = MODELS[object.kind];
        const label = `${object.kind}/${object.metadata.name}`;
        assert.ok(model, `${label}: no model for this kind in the test (add it to MODELS)`);
        assert.equal(object.apiVersion, model.apiVersion, `${label}: apiVersion`);
        try {
          model.create(asTheApiServerReadsIt(object) as never).validate();
        } catch (err) {
          assert.fail(`${label}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    });

    it("puts everything in the natter namespace", () => {
      for (const object of objects) {
        if (object.kind === "Namespace") continue;
        assert.equal(object.metadata.namespace, "natter", `${object.kind}/${object.metadata.name}`);
      }
    });

    it("finds every ConfigMap and Secret a pod uses, or leaves it to the operator", () => {
      const has = (kind: string, name: string) => objects.some((o) => o.kind === kind && o.metadata.name === name);
      const problems: string[] = [];
      const need = (kind: "ConfigMap" | "Secret", name: string, where: string) => {
        if (has(kind, name)) return;
        if (kind === "Secret" && OPERATOR_SECRETS[dir].includes(name)) return;
        problems.push(`${where}: ${kind} ${name}`);
      };
      for (const { object, pod } of pods) {
        const where = `${object.kind}/${object.metadata.name}`;
        for (const volume of pod.volumes ?? []) {
          if (volume.secret) need("Secret", volume.secret.secretName, where);
          if (volume.configMap) need("ConfigMap", volume.configMap.name, where);
        }
        for (const c of pod.containers) {
          for (const from of c.envFrom ?? []) {
            if (from.configMapRef) need("ConfigMap", from.configMapRef.name, where);
            if (from.secretRef) need("Secret", from.secretRef.name, where);
          }
          for (const e of c.env ?? []) {
            if (e.valueFrom?.secretKeyRef) need("Secret", e.valueFrom.secretKeyRef.name, where);
            if (e.valueFrom?.configMapKeyRef) need("ConfigMap", e.valueFrom.configMapKeyRef.name, where);
          }
        }
      }
      assert.deepEqual(problems, [], "referenced but neither rendered nor documented as made by the operator");
    });

    it("runs every pod unprivileged, with a read-only root and no service account token", () => {
      for (const { object, pod } of pods) {
        const where = `${object.kind}/${object.metadata.name}`;
        const podSecurity = pod["securityContext"] as Record<string, any> | undefined;
        assert.equal(pod["automountServiceAccountToken"], false, `${where}: automountServiceAccountToken`);
        assert.equal(podSecurity?.["runAsNonRoot"], true, `${where}: runAsNonRoot`);
        assert.ok(Number(podSecurity?.["runAsUser"]) > 0, `${where}: runAsUser`);
        assert.equal(podSecurity?.["seccompProfile"]?.type, "RuntimeDefault", `${where}: seccompProfile`);
        for (const c of pod.containers) {
          const s = c["securityContext"] as Record<string, any> | undefined;
          assert.equal(s?.["allowPrivilegeEscalation"], false, `${where}/${c.name}: allowPrivilegeEscalation`);
          assert.equal(s?.["readOnlyRootFilesystem"], true, `${where}/${c.name}: readOnlyRootFilesystem`);
          assert.deepEqual(s?.["capabilities"]?.drop, ["ALL"], `${where}/${c.name}: capabilities.drop`);
          assert.equal(s?.["privileged"], undefined, `${where}/${c.name}: privileged`);
        }
      }
    });

    it("gives every container requests, a memory limit and liveness and readiness probes", () => {
      for (const { object, pod } of pods) {
        for (const c of pod.containers) {
          const where = `${object.kind}/${object.metadata.name}/${c.name}`;
          const resources = c["resources"] as { requests?: Record<string, string>; limits?: Record<string, string> } | undefined;
          assert.ok(resources?.requests?.["cpu"] && resources.requests["memory"], `${where}: requests`);
          assert.ok(resources?.limits?.["memory"], `${where}: memory limit`);
          assert.ok(c["livenessProbe"], `${where}: livenessProbe`);
          assert.ok(c["readinessProbe"], `${where}: readinessProbe`);
        }
      }
    });

    it("probes each natter service's /healthz and /readyz on its health port", () => {
      let seen = 0;
      for (const { object, pod } of pods) {
        for (const c of pod.containers) {
          const service = natterService(c.image, c.args);
          if (!service) continue;
          seen++;
          const where = `${object.kind}/${object.metadata.name}`;
          const healthPort = Number(c.env?.find((e) => e.name === `${service.toUpperCase()}_HEALTH_PORT`)?.value);
          assert.ok(healthPort > 0, `${where}: ${service.toUpperCase()}_HEALTH_PORT`);
          for (const [probe, path] of [["startupProbe", "/healthz"], ["livenessProbe", "/healthz"], ["readinessProbe", "/readyz"]] as const) {
            const get = (c[probe] as { httpGet?: { path: string; port: number | string } } | undefined)?.httpGet;
            assert.equal(get?.path, path, `${where}: ${probe} path`);
            assert.equal(containerPort(c, get?.port), healthPort, `${where}: ${probe} port`);
          }
        }
      }
      assert.equal(seen, 4, "auth, group, presence and edge");
    });

    it("keeps auth, group and presence at two replicas and every natter workload and NATS under a PDB", () => {
      for (const name of ["auth", "group", "presence"]) assert.equal(spec(named(objects, "Deployment", name))["replicas"], 2, name);
      const budgets = byKind(objects, "PodDisruptionBudget");
      for (const name of ["auth", "group", "presence", "edge", "nats"]) {
        const workload = objects.find((o) => (o.kind === "Deployment" || o.kind === "StatefulSet") && o.metadata.name === name)!;
        const podLabels = spec(workload)["template"].metadata.labels as Record<string, string>;
        const covered = budgets.some((b) => Object.entries(spec(b)["selector"].matchLabels ?? {}).every(([k, v]) => podLabels[k] === v));
        assert.ok(covered, `${name} has no PodDisruptionBudget`);
      }
    });

    it("puts the edges behind a LoadBalancer on 7400, scaled on CPU by an HPA", () => {
      const service = spec(named(objects, "Service", "edge"));
      assert.equal(service["type"], "LoadBalancer");
      assert.ok(service["ports"].some((p: { port: number }) => p.port === 7400));
      const hpa = named(objects, "HorizontalPodAutoscaler", "edge");
      assert.equal(hpa.apiVersion, "autoscaling/v2");
      assert.deepEqual(spec(hpa)["scaleTargetRef"], { apiVersion: "apps/v1", kind: "Deployment", name: "edge" });
      assert.ok(spec(hpa)["minReplicas"] >= 2);
      assert.ok(spec(hpa)["metrics"].some((m: any) => m.resource?.name === "cpu"));
      assert.equal(spec(named(objects, "Deployment", "edge"))["replicas"], undefined, "the HPA owns the edge count");
    });

    it(dir === "deploy/k8s/base" ? "serves TLS on the edges, from the natter-edge-tls Secret mounted read-only" : "serves the edges without TLS (local only)", () => {
      const pod = spec(named(objects, "Deployment", "edge"))["template"].spec as { containers: Container[]; volumes?: any[] };
      const edge = pod.containers[0]!;
      const env = (name: string) => edge.env?.find((e) => e.name === name)?.value;
      if (dir !== "deploy/k8s/base") {
        assert.equal(env("EDGE_TLS_CERT"), undefined);
        return;
      }
      const mount = ((edge as any).volumeMounts as Array<{ name: string; mountPath: string; readOnly?: boolean }>).find((m) => m.name === "tls");
      assert.ok(mount, "the tls volume is mounted");
      assert.equal(mount.readOnly, true);
      assert.equal(env("EDGE_TLS_CERT"), `${mount.mountPath}/tls.crt`);
      assert.equal(env("EDGE_TLS_KEY"), `${mount.mountPath}/tls.key`);
      const volume = pod.volumes?.find((v) => v.name === "tls");
      assert.equal(volume?.secret?.secretName, "natter-edge-tls");
      assert.equal(volume?.secret?.optional, undefined, "no Secret, no edge: never a silent fallback to plain TCP");
    });

    it("lets an edge finish its drain before the kubelet kills it", () => {
      const pod = spec(named(objects, "Deployment", "edge"))["template"].spec as { terminationGracePeriodSeconds: number; containers: Container[] };
      const edge = pod.containers[0]!;
      const drainMs = Number(edge.env?.find((e) => e.name === "EDGE_DRAIN_MS")?.value ?? 5000);
      const preStop = (edge["lifecycle"] as any)?.preStop?.exec?.command as string[] | undefined;
      assert.deepEqual(preStop?.slice(0, 1), ["sleep"], "preStop waits for endpoints to forget the pod");
      const preStopS = Number(preStop?.[1]);
      // services/edge/src/main.ts bounds its shutdown at EDGE_DRAIN_MS + 5 s.
      const needed = preStopS + drainMs / 1000 + 5;
      assert.ok(pod.terminationGracePeriodSeconds >= needed + 5, `grace ${pod.terminationGracePeriodSeconds}s < ${needed}s + 5 s margin`);
    });

    it("runs NATS as three JetStream servers, one a node where possible, syncing every write", () => {
      const nats = spec(named(objects, "StatefulSet", "nats"));
      assert.equal(nats["replicas"], 3);
      assert.equal(nats["serviceName"], "nats-headless");
      assert.equal(spec(named(objects, "Service", "nats-headless"))["clusterIP"], "None");
      const antiAffinity = nats["template"].spec.affinity?.podAntiAffinity;
      assert.ok(antiAffinity?.requiredDuringSchedulingIgnoredDuringExecution || antiAffinity?.preferredDuringSchedulingIgnoredDuringExecution);
      assert.ok(nats["volumeClaimTemplates"]?.length, "file storage on a volume");
      const configName = nats["template"].spec.volumes.find((v: any) => v.configMap).configMap.name as string;
      const conf = Object.values(named(objects, "ConfigMap", configName)["data"] as Record<string, string>).join("\n");
      assert.match(conf, /^\s*sync_interval:\s*always\s*$/m);
      assert.match(conf, /^\s*store_dir:\s*\/data\s*$/m);
      for (const i of [0, 1, 2]) assert.ok(conf.includes(`nats://nats-${i}.nats-headless:6222`), `route to nats-${i}`);
      const image = nats["template"].spec.containers[0].image as string;
      assert.match(image, /^nats:2\.12/);
    });

    it("connects each service to NATS as its own user, from the Secret NATS reads the passwords from", () => {
      const nats = spec(named(objects, "StatefulSet", "nats"))["template"].spec as { containers: Container[]; volumes: any[] };
      const configName = nats.volumes.find((v: any) => v.configMap).configMap.name as string;
      const files = named(objects, "ConfigMap", configName)["data"] as Record<string, string>;
      assert.match(files["nats.conf"] ?? "", /^include \.\/users\.conf$/m);
      assert.equal(files["users.conf"], renderUsersConf(), "users.conf as deploy/nats/permissions.ts renders it");
      const secretOf = (name: string) => objects.find((o) => o.kind === "Secret" && o.metadata.name.startsWith(`${name}`))?.metadata.name ?? name;
      const usersSecret = secretOf("natter-nats-users");
      assert.ok(nats.containers[0]!.envFrom?.some((f) => f.secretRef?.name === usersSecret), "NATS reads the passwords from natter-nats-users");
      let seen = 0;
      for (const { object, pod } of pods) {
        for (const c of pod.containers) {
          const service = natterService(c.image, c.args);
          if (!service) continue;
          seen++;
          const where = `${object.kind}/${object.metadata.name}`;
          assert.equal(c.env?.find((e) => e.name === "NATS_USER")?.value, service, `${where}: NATS_USER`);
          const ref = c.env?.find((e) => e.name === "NATS_PASSWORD")?.valueFrom?.secretKeyRef;
          assert.deepEqual(ref, { name: usersSecret, key: passwordVariable(service) }, `${where}: NATS_PASSWORD`);
        }
      }
      assert.equal(seen, 4);
      const made = objects.find((o) => o.kind === "Secret" && o.metadata.name === usersSecret);
      if (dir === "deploy/k8s/base") {
        assert.equal(made, undefined, "the base leaves the passwords to the operator");
        return;
      }
      const data = made?.["data"] as Record<string, string> | undefined;
      for (const user of NATS_USERS) {
        const password = Buffer.from(data?.[passwordVariable(user)] ?? "", "base64").toString("utf8");
        assert.match(password, NATS_PASSWORD_PATTERN, `${passwordVariable(user)}: nats-server reads it as a string`);
      }
    });

    it("has the services keep one copy of each stream on every NATS server (R3)", () => {
      const replicas = spec(named(objects, "StatefulSet", "nats"))["replicas"] as number;
      for (const { where, env } of k8sServiceEnvs(objects, OPERATOR_VALUES)) {
        assert.equal(Number(env["NATTER_REPLICAS"]), replicas, `${where}: NATTER_REPLICAS`);
      }
    });

    it("lets only the edges be reached from outside, and each piece reach only what it needs", () => {
      const policies = new Policies(objects);
      const namespace = "natter";
      const podOf = (name: string): Endpoint => {
        const found = pods.find((p) => p.object.metadata.name === name);
        assert.ok(found, `no workload ${name}`);
        return { namespace, labels: found.podLabels };
      };
      const dns: Endpoint = { namespace: "kube-system", labels: { "k8s-app": "kube-dns" } };
      const [edge, auth, group, presence, nats, postgres] = ["edge", "auth", "group", "presence", "nats", "postgres"].map(podOf) as Endpoint[];
      const services = { auth, group, presence } as Record<string, Endpoint>;
      const yes = (from: Endpoint, to: Endpoint, port: number, why: string, protocol = "TCP") =>
        assert.ok(policies.allows(from, to, port, protocol), `should be allowed: ${why}`);
      const no = (from: Endpoint, to: Endpoint, port: number, why: string) => assert.ok(!policies.allows(from, to, port), `should be denied: ${why}`);

      yes("outside", edge!, 7400, "clients to edges");
      for (const [name, target, port] of [["nats", nats, 4222], ["postgres", postgres, 5432], ["auth", auth, 8080], ["edge health", edge, 8080]] as const) {
        no("outside", target!, port, `outside to ${name}`);
      }
      yes(edge!, nats!, 4222, "edge to NATS");
      no(edge!, postgres!, 5432, "edge to Postgres");
      for (const [name, s] of Object.entries(services)) {
        yes(s, nats!, 4222, `${name} to NATS`);
        yes(s, postgres!, 5432, `${name} to Postgres`);
        no(s, edge!, 7400, `${name} to an edge`);
        no(s, nats!, 6222, `${name} to NATS routes`);
        yes(s, dns, 53, `${name} to DNS`, "UDP");
      }
      yes(edge!, dns, 53, "edge to DNS", "UDP");
      yes(nats!, nats!, 6222, "NATS routes between the servers");
      yes(nats!, dns, 53, "NATS to DNS (route names)", "UDP");
      no(postgres!, nats!, 4222, "Postgres dials nothing");
      no(nats!, postgres!, 5432, "NATS to Postgres");
      const stranger: Endpoint = { namespace: "other", labels: { "app.kubernetes.io/name": "auth", "app.kubernetes.io/component": "service" } };
      no(stranger, nats!, 4222, "a look-alike pod in another namespace to NATS");
      no(stranger, postgres!, 5432, "a look-alike pod in another namespace to Postgres");
    });
  });
}

/**
 * kustomize folds long base64 Secret values over several lines; the API server's decoder
 * skips the line breaks, the schema's "byte" format does not.
 */
function asTheApiServerReadsIt(object: K8sObject): K8sObject {
  if (object.kind !== "Secret" || !object["data"]) return object;
  const data = Object.fromEntries(Object.entries(object["data"] as Record<string, string>).map(([k, v]) => [k, v.replace(/\s+/g, "")]));
  return { ...object, data };
}

function containerPort(c: Container, port: number | string | undefined): number | undefined {
  if (typeof port === "number") return port;
  const ports = (c["ports"] ?? []) as Array<{ name?: string; containerPort: number }>;
  return ports.find((p) => p.name === port)?.containerPort;
}
