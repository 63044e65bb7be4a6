// Role: Kubernetes path — reads the pod, namespace, container and container id from the name the
// kubelet gives a container's log (/var/log/containers/<pod>_<namespace>_<container>-<id>.log),
// as fields for the tail's batches.

import { basename } from 'node:path';
import type { Format } from './container-line.js';

/**
 * What a container log's name tells, keyed by OpenTelemetry's semantic-convention names (what
 * Kubernetes-aware backends and the OpenTelemetry Collector's k8sattributes use).
 */
export interface KubernetesFields {
  'k8s.pod.name': string;
  'k8s.namespace.name': string;
  'k8s.container.name': string;
  'container.id': string;
}

// Names as Kubernetes allows them: a pod is a DNS subdomain (dots allowed, 253 at most), a
// namespace and a container are DNS labels (63 at most); none holds `_`, so `_` splits the name.
const SUBDOMAIN = /^[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?$/;
const LABEL = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/;
const CONTAINER_AND_ID = /^(.+)-([0-9a-f]{64})\.log$/;

/**
 * The fields of a path whose file name follows the kubelet's convention
 * `<pod>_<namespace>_<container>-<64 hex id>.log` (its folder is not looked at, so a host path
 * mounted elsewhere works); undefined for any other name.
 */
export function kubernetesPathFields(path: string): KubernetesFields | undefined {
  const parts = basename(path).split('_');
  if (parts.length !== 3) return undefined;
  const [pod, namespace, rest] = parts as [string, string, string];
  const tail = CONTAINER_AND_ID.exec(rest);
  if (tail === null) return undefined;
  const [, container, id] = tail as unknown as [string, string, string];
  if (pod.length > 253 || !SUBDOMAIN.test(pod)) return undefined;
  if (namespace.length > 63 || !LABEL.test(namespace)) return undefined;
  if (container.length > 63 || !LABEL.test(container)) return undefined;
  return {
    'k8s.pod.name': pod,
    'k8s.namespace.name': namespace,
    'k8s.container.name': container,
    'container.id': id,
  };
}

/** Whether a tail reads Kubernetes fields from its paths: as set, else for the container formats. */
export function kubernetesMetadataOn(tail: {
  format?: Format | undefined;
  kubernetesMetadata?: boolean | undefined;
}): boolean {
  return tail.kubernetesMetadata ?? (tail.format !== undefined && tail.format !== 'raw');
}

/** The Kubernetes fields of a tail's file: undefined when the tail has them off or the name does not tell. */
export function kubernetesFieldsFor(
  tail: { format?: Format | undefined; kubernetesMetadata?: boolean | undefined },
  path: string,
): KubernetesFields | undefined {
  return kubernetesMetadataOn(tail) ? kubernetesPathFields(path) : undefined;
}
