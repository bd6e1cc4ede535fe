/** Errors of the MQTT link shared by the client and the queues in front of it. */
export class LinkLostError extends Error {
  constructor() {
    super('connection to ThingsBoard lost before the broker acknowledged');
    this.name = 'LinkLostError';
  }
}
