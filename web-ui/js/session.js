// Who is logged in, shared by the pages: `session.me` is the login answer or GET /api/me
// (`username`, `display_name`, `role`, `csrf`), null when logged out.

/** The logged-in person. */
export const session = { me: null };

/** Whether the logged-in person has one of `roles`. */
export function hasRole(...roles) {
  return Boolean(session.me && roles.includes(session.me.role));
}
