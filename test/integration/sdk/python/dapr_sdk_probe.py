"""Drives the official Dapr Python SDK (dapr, dapr-ext-grpc), unchanged, for Outrigger's tests.

  dapr_sdk_probe.py client <scenario> [json-args]   runs one client scenario, prints one JSON line
  dapr_sdk_probe.py grpc-app <port>                 serves the SDK's gRPC App (dapr.ext.grpc) until SIGTERM

The SDK reads the sidecar's address and API token from the environment (DAPR_HTTP_PORT,
DAPR_GRPC_PORT, DAPR_API_TOKEN, ...), as in an app. What the SDK returned or raised is printed
as data; the TypeScript test asserts on it.
"""

import json
import signal
import sys
import warnings

warnings.simplefilter('ignore', DeprecationWarning)
warnings.simplefilter('ignore', UserWarning)


def error_info(err):
    """What an SDK exception carries, by its type."""
    from grpc import RpcError

    from dapr.clients.exceptions import DaprGrpcError, DaprHttpError, DaprInternalError

    if isinstance(err, RpcError) and not isinstance(err, DaprGrpcError):
        err = DaprGrpcError(err)  # the calls that let grpc's error through, unwrapped
    out = {'type': type(err).__name__, 'text': str(err)}
    if isinstance(err, DaprGrpcError):
        out['code'] = err.code().name
        out['details'] = err.details()
        out['errorCode'] = err.error_code()
        status_details = err.status_details()
        out['errorInfo'] = status_details.error_info or None
        out['resourceInfo'] = status_details.resource_info or None
        out['badRequest'] = status_details.bad_request or None
    elif isinstance(err, DaprHttpError):
        out['status'] = err.status_code
        out['errorCode'] = err.error_code
        out['message'] = err.message
    elif isinstance(err, DaprInternalError):
        out['errorCode'] = err.error_code
        out['message'] = err.message
    return out


def response_info(resp):
    """An InvokeMethodResponse as data."""
    return {
        'text': resp.text(),
        'contentType': resp.content_type,
        'status': resp.status_code,
        'headers': {k.lower(): v for k, v in resp.headers.items()},
    }


def attempt(fn):
    """Runs fn; its result, or the error it raised, as data."""
    try:
        return {'ok': fn()}
    except Exception as err:  # the SDK's exceptions are the data here
        return {'error': error_info(err)}


def invoke(client, args):
    def call():
        resp = client.invoke_method(
            args['appId'],
            args['method'],
            data=args.get('data', ''),
            content_type=args.get('contentType'),
            http_verb=args.get('verb'),
            http_querystring=tuple(tuple(p) for p in args.get('query', [])) or None,
            metadata=tuple(tuple(p) for p in args.get('metadata', [])) or None,
        )
        return response_info(resp)

    return attempt(call)


def state(client, args):
    from dapr.clients.grpc._request import TransactionalStateOperation, TransactionOperationType
    from dapr.clients.grpc._state import Concurrency, StateItem, StateOptions

    store = args['store']
    out = {}
    client.save_state(store, 'order-1', '{"item":"book","qty":2}', state_metadata={'contentType': 'application/json'})
    got = client.get_state(store, 'order-1')
    out['get'] = {'data': got.text(), 'etag': got.etag}
    client.save_bulk_state(
        store,
        [StateItem(key='k1', value='v1'), StateItem(key='k2', value=b'\x00\x01bytes')],
    )
    bulk = client.get_bulk_state(store, ['k1', 'k2', 'missing'])
    out['bulk'] = sorted(
        [{'key': i.key, 'data': i.data.hex(), 'hasEtag': i.etag != '', 'error': i.error} for i in bulk.items],
        key=lambda i: i['key'],
    )
    first = StateOptions(concurrency=Concurrency.first_write)

    def save_with(etag, value):
        client.save_state(store, 'order-1', value, etag=etag, options=first)
        return 'saved'

    out['staleEtag'] = attempt(lambda: save_with('00000000-0000-4000-8000-000000000000', 'x'))
    out['badEtag'] = attempt(lambda: save_with('999999', 'x'))
    out['freshEtag'] = attempt(lambda: save_with(got.etag, '{"qty":3}'))
    out['afterFresh'] = client.get_state(store, 'order-1').text()
    client.execute_state_transaction(
        store,
        [
            TransactionalStateOperation(key='t1', data='one'),
            TransactionalStateOperation(key='k1', operation_type=TransactionOperationType.delete),
        ],
    )
    out['afterTx'] = {'t1': client.get_state(store, 't1').text(), 'k1': client.get_state(store, 'k1').text()}
    client.delete_state(store, 't1')
    out['afterDelete'] = client.get_state(store, 't1').text()
    out['missingStore'] = attempt(lambda: client.get_state('nosuchstore', 'k').text())
    out['illegalKey'] = attempt(lambda: client.save_state(store, 'bad||keyname', 'x'))
    if args.get('query'):
        resp = client.query_state(store, json.dumps({'filter': {'EQ': {'qty': 3}}}))
        out['query'] = sorted(r.key for r in resp.results)
    return out


def secrets(client, args):
    store = args['store']
    return {
        'one': attempt(lambda: dict(client.get_secret(store, 'apiKey').secret)),
        'bulk': attempt(lambda: {k: dict(v) for k, v in client.get_bulk_secret(store).secrets.items()}),
        'missingKey': attempt(lambda: dict(client.get_secret(store, 'nope').secret)),
        'missingStore': attempt(lambda: dict(client.get_secret('nosuchstore', 'apiKey').secret)),
    }


def metadata(client, args):
    client.set_metadata('owner', 'py-team')
    md = client.get_metadata()
    return {
        'id': md.application_id,
        'components': sorted([c.name, c.type, c.version] for c in md.registered_components),
        'extended': md.extended_metadata,
    }


SCENARIOS = {'invoke': invoke, 'state': state, 'secrets': secrets, 'metadata': metadata}


def run_client(scenario, args):
    from dapr.clients import DaprClient

    with DaprClient() as client:
        result = SCENARIOS[scenario](client, args)
    print(json.dumps(result))


def run_grpc_app(port):
    from dapr.clients.grpc._response import InvokeMethodResponse
    from dapr.ext.grpc import App, InvokeMethodRequest

    app = App()
    # Without a callback the SDK's HealthCheck answers Unimplemented, which the sidecar (as daprd)
    # counts as unhealthy when app health checks are on.
    app.register_health_check(lambda: None)

    @app.method('echo')
    def echo(request: InvokeMethodRequest) -> InvokeMethodResponse:
        seen = {
            'data': request.text(),
            'contentType': request.content_type,
            'metadata': {k: v[0] for k, v in request.metadata.items()},
        }
        return InvokeMethodResponse(json.dumps(seen).encode(), 'application/json; charset=utf-8')

    @app.method('fail')
    def fail(request: InvokeMethodRequest) -> InvokeMethodResponse:
        raise ValueError('the order is not valid')

    signal.signal(signal.SIGTERM, lambda *_: app.stop())
    print('serving', flush=True)
    app.run(port)


def main():
    if sys.argv[1] == 'client':
        run_client(sys.argv[2], json.loads(sys.argv[3]) if len(sys.argv) > 3 else {})
    elif sys.argv[1] == 'grpc-app':
        run_grpc_app(int(sys.argv[2]))
    else:
        raise SystemExit(f'unknown command {sys.argv[1]}')


if __name__ == '__main__':
    main()
