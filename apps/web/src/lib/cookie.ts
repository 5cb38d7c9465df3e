/** Name of the cookie that carries the access token for attachment downloads through the proxy. */
export const TOKEN_COOKIE = 'anmei_token';
