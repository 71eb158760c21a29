/**
 * The host names that reach this machine's loopback interface, as a URL's `hostname` spells
 * them. Plain http is allowed only to these (a development IdP or server on this machine):
 * anything else would send sign-in tokens over the network in clear.
 */
export const LOOPBACK_HOSTNAMES: readonly string[] = ['127.0.0.1', 'localhost', '[::1]'];

export const isLoopbackHostname = (hostname: string): boolean => LOOPBACK_HOSTNAMES.includes(hostname);
