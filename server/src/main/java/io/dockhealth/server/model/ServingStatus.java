package io.dockhealth.server.model;

/** Whether a service name may take traffic; the model's side of the health protocol's status. */
public enum ServingStatus {
  SERVING,
  NOT_SERVING
}
