import { describe, expect, it } from 'vitest';
import {
  kubernetesFieldsFor,
  kubernetesPathFields,
} from '../../../../src/agent/records/kubernetes-path.js';

const ID = '3f1c9b2e8d7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e';

describe('Kubernetes fields from a container log’s path', () => {
  it('reads pod, namespace, container and id from the kubelet’s name', () => {
    expect(
      kubernetesPathFields(`/var/log/containers/web-7d4b9c-x2kq9_shop_nginx-${ID}.log`),
    ).toEqual({
      'k8s.pod.name': 'web-7d4b9c-x2kq9',
      'k8s.namespace.name': 'shop',
      'k8s.container.name': 'nginx',
      'container.id': ID,
    });
  });

  it('keeps dashes and dots in pod names, dashes in namespaces and container names', () => {
    expect(
      kubernetesPathFields(
        `/var/log/containers/api.v2-canary-0_kube-system_istio-proxy-sidecar-${ID}.log`,
      ),
    ).toEqual({
      'k8s.pod.name': 'api.v2-canary-0',
      'k8s.namespace.name': 'kube-system',
      'k8s.container.name': 'istio-proxy-sidecar',
      'container.id': ID,
    });
  });

  it('looks at the file name only (a host folder mounted elsewhere)', () => {
    expect(kubernetesPathFields(`/host/logs/p_ns_c-${ID}.log`)?.['k8s.pod.name']).toBe('p');
    expect(kubernetesPathFields(`p_ns_c-${ID}.log`)?.['k8s.container.name']).toBe('c');
  });

  it('gives nothing for names that follow neither layout', () => {
    const bad = [
      '/var/log/containers/app.log',
      '/var/log/pods/shop_web-1_4c1e/nginx/0.log', // not a pod uid
      `/var/log/containers/web_shop-${ID}.log`, // no container part
      `/var/log/containers/web_shop_nginx_x-${ID}.log`, // one `_` too many
      `/var/log/containers/web_shop_nginx-${ID.slice(1)}.log`, // 63 hex digits
      `/var/log/containers/web_shop_nginx-${ID.toUpperCase()}.log`,
      `/var/log/containers/web_shop_nginx-${ID}.log.20261207-100000`, // rotated name
      `/var/log/containers/web_shop_nginx-${ID}`,
      `/var/log/containers/Web_shop_nginx-${ID}.log`, // upper case
      `/var/log/containers/web-_shop_nginx-${ID}.log`, // ends with a dash
      `/var/log/containers/web_sh.op_nginx-${ID}.log`, // a dot in a namespace
      `/var/log/containers/web_shop_ngi.nx-${ID}.log`, // a dot in a container name
      `/var/log/containers/web_shop_-${ID}.log`, // empty container name
      `/var/log/containers/_shop_nginx-${ID}.log`, // empty pod name
      `/var/log/containers/web_${'n'.repeat(64)}_nginx-${ID}.log`, // namespace over 63
      `/var/log/containers/${'p'.repeat(254)}_shop_nginx-${ID}.log`, // pod over 253
    ];
    expect(bad.map(kubernetesPathFields)).toEqual(bad.map(() => undefined));
    expect(kubernetesPathFields(`/x/${'p'.repeat(253)}_shop_nginx-${ID}.log`)).toBeDefined();
  });

  it('reads the /var/log/pods layout the links point at, rotated generations included', () => {
    const uid = '4c1e2f3a-5b6c-4d7e-8f90-a1b2c3d4e5f6';
    const fields = {
      'k8s.pod.name': 'web-7d4b9c-x2kq9',
      'k8s.namespace.name': 'shop',
      'k8s.container.name': 'nginx',
      'k8s.pod.uid': uid,
      'k8s.container.restart_count': '0',
    };
    const dir = `/var/log/pods/shop_web-7d4b9c-x2kq9_${uid}/nginx`;
    expect(kubernetesPathFields(`${dir}/0.log`)).toEqual(fields);
    expect(kubernetesPathFields(`${dir}/0.log.20261207-100000`)).toEqual(fields);
    expect(kubernetesPathFields(`${dir}/0.log.20261207-100000.gz`)).toEqual(fields);
    expect(kubernetesPathFields(`${dir}/12.log`)?.['k8s.container.restart_count']).toBe('12');
    const bad = [
      `${dir}/app.log`,
      `${dir}/0.log.1`,
      `/var/log/pods/shop_web_not-a-uid/nginx/0.log`,
      `/var/log/pods/shop_web/nginx/0.log`,
      `/var/log/pods/shop_web_${uid}/Nginx/0.log`,
      `0.log`,
    ];
    expect(bad.map(kubernetesPathFields)).toEqual(bad.map(() => undefined));
  });

  it('is on by default for the container formats only, and follows the switch', () => {
    const path = `/var/log/containers/web_shop_nginx-${ID}.log`;
    expect(kubernetesFieldsFor({ format: 'cri' }, path)).toBeDefined();
    expect(kubernetesFieldsFor({ format: 'docker-json' }, path)).toBeDefined();
    expect(kubernetesFieldsFor({ format: 'raw' }, path)).toBeUndefined();
    expect(kubernetesFieldsFor({}, path)).toBeUndefined();
    expect(kubernetesFieldsFor({ format: 'raw', kubernetesMetadata: true }, path)).toBeDefined();
    expect(kubernetesFieldsFor({ format: 'cri', kubernetesMetadata: false }, path)).toBeUndefined();
  });
});
