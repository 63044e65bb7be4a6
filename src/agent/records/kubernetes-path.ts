// Role: Kubernetes path — reads the pod, namespace, container (and container id, or pod uid)
// from the paths the kubelet gives a container's log (/var/log/containers/…, /var/log/pods/…),
// as fields for the tail's batches.

import { sep } from 'node:path';
import type { Format } from './container-line.js';

/**
 * What a container log's path tells, keyed by OpenTelemetry's semantic-convention names (what
 * Kubernetes-aware backends and the OpenTelemetry Collector's k8sattributes use).
 */
export interface KubernetesFields {
  'k8s.pod.name': string;
  'k8s.namespace.name': string;
  'k8s.container.name': string;
  /** From /var/log/containers names only. */
  'container.id'?: string;
  /** From /var/log/pods paths only. */
  'k8s.pod.uid'?: string;
  /** From /var/log/pods paths only: the file's number is the container's restart count. */
  'k8s.container.restart_count'?: string;
}

// Names as Kubernetes allows them: a pod is a DNS subdomain (dots allowed, 253 at most), a
// namespace and a container are DNS labels (63 at most); none holds `_`, so `_` splits a name.
const SUBDOMAIN = /^[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?$/;
const LABEL = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/;
const CONTAINER_AND_ID = /^(.+)-([0-9a-f]{64})\.log$/;
const POD_UID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/;
// `<restart count>.log`, or its kubelet-rotated generations `0.log.20261207-100000[.gz]`.
const POD_FILE = /^(\d+)\.log(?:\.\d{8}-\d{6}(?:\.gz)?)?$/;

const pod = (name: string): boolean => name.length <= 253 && SUBDOMAIN.test(name);
const label = (name: string): boolean => name.length <= 63 && LABEL.test(name);

/**
 * The fields of a container log's path, in either of the kubelet's layouts; undefined for any
 * other path:
 * - `…/<pod>_<namespace>_<container>-<64 hex id>.log`, the links in /var/log/containers (only
 *   the file name is looked at, so a host folder mounted elsewhere works);
 * - `…/<namespace>_<pod>_<pod uid>/<container>/<restart count>.log[.<time>]`, the files in
 *   /var/log/pods the links point at (and their rotated generations).
 */
export function kubernetesPathFields(path: string): KubernetesFields | undefined {
  const segments = path.split(sep);
  const name = segments[segments.length - 1] ?? '';
  const parts = name.split('_');
  if (parts.length === 3) {
    const [podName, namespace, rest] = parts as [string, string, string];
    const tail = CONTAINER_AND_ID.exec(rest);
    if (tail === null) return undefined;
    const [, container, id] = tail as unknown as [string, string, string];
    if (!pod(podName) || !label(namespace) || !label(container)) return undefined;
    return {
      'k8s.pod.name': podName,
      'k8s.namespace.name': namespace,
      'k8s.container.name': container,
      'container.id': id,
    };
  }
  const file = POD_FILE.exec(name);
  if (file === null || segments.length < 3) return undefined;
  const container = segments[segments.length - 2] as string;
  const podDir = (segments[segments.length - 3] as string).split('_');
  if (podDir.length !== 3) return undefined;
  const [namespace, podName, uid] = podDir as [string, string, string];
  if (!pod(podName) || !label(namespace) || !label(container) || !POD_UID.test(uid))
    return undefined;
  return {
    'k8s.pod.name': podName,
    'k8s.namespace.name': namespace,
    'k8s.container.name': container,
    'k8s.pod.uid': uid,
    'k8s.container.restart_count': (file[1] as string).replace(/^0+(?=\d)/, ''),
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
