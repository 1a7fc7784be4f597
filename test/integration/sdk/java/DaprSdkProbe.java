import com.fasterxml.jackson.databind.ObjectMapper;
import io.dapr.client.DaprClient;
import io.dapr.client.DaprClientBuilder;
import io.dapr.client.DaprHttp;
import io.dapr.client.domain.ComponentMetadata;
import io.dapr.client.domain.DaprMetadata;
import io.dapr.client.domain.HttpExtension;
import io.dapr.client.domain.State;
import io.dapr.client.domain.StateOptions;
import io.dapr.client.domain.TransactionalStateOperation;
import io.dapr.exceptions.DaprErrorDetails;
import io.dapr.exceptions.DaprException;
import io.dapr.utils.TypeRef;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;

/**
 * Drives the official Dapr Java SDK (io.dapr:dapr-sdk), unchanged, for Outrigger's tests:
 * {@code java -cp '<jars>/*' DaprSdkProbe.java <scenario> [json-args]} runs one scenario and prints
 * one JSON line of what the SDK returned or threw. The SDK finds its sidecar from DAPR_HTTP_PORT,
 * DAPR_GRPC_PORT and DAPR_API_TOKEN, as in an app.
 */
public final class DaprSdkProbe {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final TypeRef<Map<String, Object>> MAP = new TypeRef<>() {};

  public static void main(String[] args) throws Exception {
    Map<String, Object> input = args.length > 1 ? JSON.readValue(args[1], MAP_TYPE) : Map.of();
    Object result;
    try (DaprClient client = new DaprClientBuilder().build()) {
      client.waitForSidecar(10_000).block();
      result = switch (args[0]) {
        case "invoke" -> invoke(client, input);
        case "state" -> state(client, input);
        case "secrets" -> secrets(client, input);
        case "metadata" -> metadata(client);
        default -> throw new IllegalArgumentException("unknown scenario " + args[0]);
      };
    }
    System.out.println(JSON.writeValueAsString(result));
    System.exit(0); // the SDK's gRPC channel threads would otherwise keep the JVM up a while
  }

  private static final com.fasterxml.jackson.core.type.TypeReference<Map<String, Object>> MAP_TYPE =
      new com.fasterxml.jackson.core.type.TypeReference<>() {};

  /** Runs the call; its value, or what the SDK threw, as data. */
  private static Map<String, Object> attempt(Callable<Object> call) {
    Map<String, Object> out = new LinkedHashMap<>();
    try {
      out.put("ok", call.call());
    } catch (DaprException e) {
      Map<String, Object> error = new LinkedHashMap<>();
      error.put("errorCode", e.getErrorCode());
      error.put("message", e.getMessage());
      error.put("httpStatus", e.getHttpStatusCode());
      error.put("payload", e.getPayload() == null ? null : new String(e.getPayload(), StandardCharsets.UTF_8));
      DaprErrorDetails details = e.getErrorDetails();
      if (details != null) {
        error.put("reason", details.get(DaprErrorDetails.ErrorDetailType.ERROR_INFO, "reason", TypeRef.STRING));
        error.put("domain", details.get(DaprErrorDetails.ErrorDetailType.ERROR_INFO, "domain", TypeRef.STRING));
      }
      out.put("error", error);
    } catch (Exception e) {
      out.put("error", Map.of("type", e.getClass().getName(), "message", String.valueOf(e.getMessage())));
    }
    return out;
  }

  @SuppressWarnings("unchecked")
  private static Object invoke(DaprClient client, Map<String, Object> in) {
    Map<String, List<String>> query = new TreeMap<>();
    ((Map<String, String>) in.getOrDefault("query", Map.of())).forEach((k, v) -> query.put(k, List.of(v)));
    Map<String, String> headers = (Map<String, String>) in.getOrDefault("headers", Map.of());
    DaprHttp.HttpMethods verb = DaprHttp.HttpMethods.valueOf((String) in.get("verb"));
    HttpExtension http = new HttpExtension(verb, query, headers);
    Object body = in.get("body");
    return attempt(() -> {
      byte[] got = client.invokeMethod((String) in.get("appId"), (String) in.get("method"), body, http, byte[].class).block();
      return got == null ? null : new String(got, StandardCharsets.UTF_8);
    });
  }

  private static Object state(DaprClient client, Map<String, Object> in) {
    String store = (String) in.get("store");
    Map<String, Object> out = new LinkedHashMap<>();
    client.saveState(store, "order-1", Map.of("item", "book", "qty", 2)).block();
    State<Map<String, Object>> got = client.getState(store, "order-1", MAP).block();
    out.put("get", Map.of("value", got.getValue(), "etag", got.getEtag()));
    client.saveBulkState(store, List.of(new State<Object>("k1", "v1", (String) null), new State<Object>("k2", 42, (String) null))).block();
    List<Map<String, Object>> bulk = new ArrayList<>();
    for (State<Object> s : client.getBulkState(store, List.of("k1", "k2", "missing"), Object.class).block()) {
      Map<String, Object> item = new LinkedHashMap<>();
      item.put("key", s.getKey());
      item.put("value", s.getValue());
      item.put("hasEtag", s.getEtag() != null && !s.getEtag().isEmpty());
      bulk.add(item);
    }
    out.put("bulk", bulk);
    StateOptions first = new StateOptions(StateOptions.Consistency.STRONG, StateOptions.Concurrency.FIRST_WRITE);
    out.put("staleEtag", attempt(() -> {
      client.saveState(store, "order-1", "00000000-0000-4000-8000-000000000000", "x", first).block();
      return "saved";
    }));
    out.put("freshEtag", attempt(() -> {
      client.saveState(store, "order-1", got.getEtag(), Map.of("qty", 3), first).block();
      return "saved";
    }));
    out.put("afterFresh", client.getState(store, "order-1", MAP).block().getValue());
    client.executeStateTransaction(store, List.of(
        new TransactionalStateOperation<>(TransactionalStateOperation.OperationType.UPSERT, new State<>("t1", "one", (String) null)),
        new TransactionalStateOperation<>(TransactionalStateOperation.OperationType.DELETE, new State<>("k1")))).block();
    Map<String, Object> afterTx = new LinkedHashMap<>();
    afterTx.put("t1", client.getState(store, "t1", String.class).block().getValue());
    afterTx.put("k1", client.getState(store, "k1", String.class).block().getValue());
    out.put("afterTx", afterTx);
    client.deleteState(store, "t1").block();
    out.put("afterDelete", client.getState(store, "t1", String.class).block().getValue());
    out.put("illegalKey", attempt(() -> {
      client.saveState(store, "bad||keyname", "x").block();
      return "saved";
    }));
    out.put("missingStore", attempt(() -> client.getState("nosuchstore", "k", String.class).block().getValue()));
    return out;
  }

  private static Object secrets(DaprClient client, Map<String, Object> in) {
    String store = (String) in.get("store");
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("one", attempt(() -> client.getSecret(store, "apiKey").block()));
    out.put("bulk", attempt(() -> new TreeMap<>(client.getBulkSecret(store).block())));
    out.put("missingStore", attempt(() -> client.getSecret("nosuchstore", "apiKey").block()));
    return out;
  }

  private static Object metadata(DaprClient client) {
    DaprMetadata md = client.getMetadata().block();
    List<List<String>> components = new ArrayList<>();
    for (ComponentMetadata c : md.getComponents()) components.add(List.of(c.getName(), c.getType(), c.getVersion()));
    components.sort((a, b) -> a.get(0).compareTo(b.get(0)));
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("id", md.getId());
    out.put("components", components);
    return out;
  }
}
