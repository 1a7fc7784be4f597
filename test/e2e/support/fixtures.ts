/** A small structural CRD shaped like Dapr's `components.dapr.io` (v1alpha1). */
export const componentCrd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'components.dapr.io' },
  spec: {
    group: 'dapr.io',
    scope: 'Namespaced',
    names: { kind: 'Component', listKind: 'ComponentList', plural: 'components', singular: 'component' },
    versions: [
      {
        name: 'v1alpha1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              apiVersion: { type: 'string' },
              kind: { type: 'string' },
              metadata: { type: 'object' },
              auth: { type: 'object', properties: { secretStore: { type: 'string' } } },
              scopes: { type: 'array', items: { type: 'string' } },
              spec: {
                type: 'object',
                required: ['type', 'version'],
                properties: {
                  type: { type: 'string' },
                  version: { type: 'string' },
                  ignoreErrors: { type: 'boolean' },
                  initTimeout: { type: 'string' },
                  metadata: {
                    type: 'array',
                    items: {
                      type: 'object',
                      required: ['name'],
                      properties: {
                        name: { type: 'string' },
                        value: { 'x-kubernetes-preserve-unknown-fields': true },
                        secretKeyRef: {
                          type: 'object',
                          properties: { name: { type: 'string' }, key: { type: 'string' } },
                        },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    ],
  },
} as const;
