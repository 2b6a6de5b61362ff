#!/usr/bin/env node
// Checks rendered Kubernetes manifests (kubectl kustomize <overlay> | node check.js <overlay name>):
// 1. every object against the Kubernetes API schemas of its apiVersion and kind (kubernetes-models: validators
//    generated from the OpenAPI schemas of the Kubernetes API: types, required fields, enums, formats); a kind it
//    has no schema for is an error. Like kubeconform's -strict, a field the API does not define is an error too (the
//    API server would drop it silently): the fields of every type are read from the packages' type declarations;
// 2. the deployment's own rules: every Deployment has startup, liveness and readiness probes, CPU and memory requests
//    and a memory limit, runs as non-root, and is exposed by a Service; the master key reaches only the two workers;
//    the namespace denies traffic by default; every HorizontalPodAutoscaler scales a Deployment of the overlay.
// Exit status 1 with one line per problem.
'use strict';
const fs = require('fs');
const path = require('path');
const yaml = require('js-yaml');

const WORKERS = new Set(['snapshot-worker', 'storage-worker']);
const MASTER_KEY_SECRET = 'lifeboat-master-key';

function modelFor(apiVersion, kind) {
  // "apps/v1" -> kubernetes-models/apps/v1/<Kind>; "v1" (the core group) -> kubernetes-models/v1/<Kind>
  try {
    return require(`kubernetes-models/${apiVersion}/${kind}`)[kind];
  } catch (e) {
    return null;
  }
}

// Every type the packages declare: its global name (IIoK8sApiCoreV1Container) -> {field: type expression}.
function declaredTypes() {
  const types = new Map();
  const roots = ['kubernetes-models', '@kubernetes-models/apimachinery'].map((p) =>
    path.dirname(require.resolve(`${p}/package.json`)));
  const walk = (dir) => fs.readdirSync(dir, { withFileTypes: true }).forEach((e) => {
    const file = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules' && e.name !== '_schemas') walk(file);
    } else if (e.name.endsWith('.d.ts')) {
      const text = fs.readFileSync(file, 'utf8').replace(/\/\*\*[\s\S]*?\*\//g, '');
      const body = /export interface (I\w+)(?: extends [\w, ]+)? \{\n([\s\S]*?)\n\}/.exec(text);
      const alias = /export \{ (I\w+) as (I\w+),/.exec(text);
      if (!body || !alias || alias[1] !== body[1]) return;
      const fields = {};
      // one field per line at the first indentation level: "name"?: type;
      body[2].split('\n').forEach((line) => {
        const m = /^ {4}"([^"]+)"\??: (.*?);?$/.exec(line);
        if (m) fields[m[1]] = m[2];
      });
      types.set(alias[2], fields);
    }
  });
  roots.forEach(walk);
  return types;
}

let TYPES;

function unknownFields(value, type, at, out) {
  if (value === null || typeof value !== 'object') return;
  let m;
  if ((m = /^Array<(.+)>$/.exec(type))) {
    if (Array.isArray(value)) value.forEach((v, i) => unknownFields(v, m[1], `${at}[${i}]`, out));
    return;
  }
  if ((m = /^(I(?:IoK8s)\w+)$/.exec(type)) && TYPES.has(m[1])) {
    const fields = TYPES.get(m[1]);
    for (const [k, v] of Object.entries(value)) {
      if (!(k in fields)) out.push(`${at}.${k} is not a field of ${m[1].replace(/^IIoK8s/, '')}`);
      else unknownFields(v, fields[k], `${at}.${k}`, out);
    }
  }
  // maps ({ [key: string]: ... }), IntOrString, quantities, free-form JSON: nothing to check
}

function checkSchemas(docs, problems) {
  TYPES = TYPES || declaredTypes();
  for (const doc of docs) {
    const name = `${doc.kind}/${doc.metadata && doc.metadata.name}`;
    const Model = modelFor(doc.apiVersion, doc.kind);
    if (!Model) {
      problems.push(`${name}: no Kubernetes schema for apiVersion ${doc.apiVersion} kind ${doc.kind}`);
      continue;
    }
    const unknown = [];
    const group = doc.apiVersion.includes('/') ? doc.apiVersion.split('/') : ['core', doc.apiVersion];
    const typeName = 'IIoK8sApi' + group[0].replace(/\.k8s\.io$/, '').split('.').map(cap).join('')
      + cap(group[1]) + doc.kind;
    if (!TYPES.has(typeName)) {
      problems.push(`${name}: no field list for ${typeName}`);
    } else {
      const { apiVersion, kind, ...rest } = doc;
      unknownFields(rest, typeName, '', unknown);
      unknown.forEach((u) => problems.push(`${name}: ${u.replace(/^\./, '')}`));
    }
    try {
      new Model(doc).validate();
    } catch (e) {
      const details = (e.errors || []).map((x) => `${x.instancePath || '/'} ${x.message}`
        + (x.params && x.params.additionalProperty ? ` (${x.params.additionalProperty})` : ''));
      problems.push(`${name}: ${details.length ? details.join('; ') : e.message}`);
    }
  }
}

function cap(s) {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function usesMasterKey(podSpec) {
  const volumes = (podSpec.volumes || []).filter((v) => v.secret && v.secret.secretName === MASTER_KEY_SECRET);
  const env = (podSpec.containers || []).flatMap((c) => [...(c.env || []), ...(c.envFrom || [])]);
  const fromEnv = env.some((e) => JSON.stringify(e).includes(`"${MASTER_KEY_SECRET}"`)
    || e.name === 'LIFEBOAT_MASTER_KEY');
  return volumes.length > 0 || fromEnv;
}

function matches(selector, labels) {
  return Object.entries(selector || {}).every(([k, v]) => labels && labels[k] === v);
}

function checkRules(docs, problems) {
  const of = (kind) => docs.filter((d) => d.kind === kind);
  const deployments = of('Deployment');
  const services = of('Service');
  if (deployments.length === 0) {
    problems.push('no Deployment rendered');
  }
  for (const d of deployments) {
    const name = d.metadata.name;
    const pod = d.spec.template.spec;
    const labels = d.spec.template.metadata.labels;
    for (const c of pod.containers) {
      for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
        if (!c[probe]) problems.push(`Deployment/${name}: container ${c.name} has no ${probe}`);
      }
      const r = c.resources || {};
      if (!r.requests || !r.requests.cpu || !r.requests.memory) {
        problems.push(`Deployment/${name}: container ${c.name} requests no CPU or no memory`);
      }
      if (!r.limits || !r.limits.memory) problems.push(`Deployment/${name}: container ${c.name} has no memory limit`);
    }
    if (!pod.securityContext || pod.securityContext.runAsNonRoot !== true) {
      problems.push(`Deployment/${name}: does not run as non-root`);
    }
    if (usesMasterKey(pod) && !WORKERS.has(name)) {
      problems.push(`Deployment/${name}: receives the master key, which only the workers may hold`);
    }
    if (WORKERS.has(name) && !usesMasterKey(pod)) {
      problems.push(`Deployment/${name}: a worker without the master key cannot read or write backups`);
    }
    if (!services.some((s) => matches(s.spec.selector, labels))) {
      problems.push(`Deployment/${name}: no Service selects its pods`);
    }
  }
  const denyAll = of('NetworkPolicy').some((p) => Object.keys(p.spec.podSelector || {}).length === 0
    && (p.spec.policyTypes || []).includes('Ingress') && (p.spec.policyTypes || []).includes('Egress')
    && !p.spec.ingress && !p.spec.egress);
  if (!denyAll) problems.push('no NetworkPolicy denies all ingress and egress by default');
  for (const h of of('HorizontalPodAutoscaler')) {
    const t = h.spec.scaleTargetRef;
    if (t.kind !== 'Deployment' || !deployments.some((d) => d.metadata.name === t.name)) {
      problems.push(`HorizontalPodAutoscaler/${h.metadata.name}: scales ${t.kind}/${t.name}, not a rendered Deployment`);
    }
  }
}

function main() {
  const label = process.argv[2] || 'stdin';
  const chunks = [];
  process.stdin.on('data', (c) => chunks.push(c));
  process.stdin.on('end', () => {
    let docs;
    try {
      docs = yaml.loadAll(Buffer.concat(chunks).toString('utf8')).filter((d) => d);
    } catch (e) {
      console.error(`${label}: not YAML: ${e.message}`);
      process.exit(1);
    }
    const problems = [];
    checkSchemas(docs, problems);
    checkRules(docs, problems);
    if (problems.length) {
      problems.forEach((p) => console.error(`${label}: ${p}`));
      process.exit(1);
    }
    const kinds = {};
    docs.forEach((d) => { kinds[d.kind] = (kinds[d.kind] || 0) + 1; });
    console.log(`${label}: ${docs.length} objects valid (${Object.entries(kinds).map(([k, n]) => `${n} ${k}`).join(', ')})`);
  });
}

main();
