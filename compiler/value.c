/* value.c: the compile-time values the elaborator computes with. */
#include "netc.h"

#include <inttypes.h>
#include <string.h>

const char *value_kind_name(ValKind k) {
  switch (k) {
  case V_ERROR: return "error";
  case V_NONE: return "nothing";
  case V_INT: return "integer";
  case V_REAL: return "real";
  case V_BOOL: return "boolean";
  case V_STR: return "string";
  case V_LIST: return "list";
  case V_MAP: return "map";
  case V_TENSOR: return "tensor";
  case V_SYM: return "word";
  case V_OP: return "layer";
  case V_CALL: return "setting";
  }
  return "?";
}

/* Renders into a bounded buffer; long lists are elided. */
static void render(const Value *v, char *buf, size_t size, size_t *len, int depth) {
#define PUT(...)                                                               \
  do {                                                                         \
    if (*len < size)                                                           \
      *len += (size_t)snprintf(buf + *len, size - *len, __VA_ARGS__);          \
  } while (0)
  switch (v->kind) {
  case V_ERROR: PUT("<error>"); break;
  case V_NONE: PUT("nothing"); break;
  case V_INT: PUT("%" PRId64, v->i); break;
  case V_REAL: PUT("%g", v->r); break;
  case V_BOOL: PUT("%s", v->i ? "true" : "false"); break;
  case V_STR: PUT("\"%.40s%s\"", v->s, strlen(v->s) > 40 ? "..." : ""); break;
  case V_SYM: PUT("%s", v->s); break;
  case V_OP: PUT("%s", op_name(v->op)); break;
  case V_CALL: PUT("%s(...)", v->s); break;
  case V_TENSOR: {
    char s[64];
    PUT("tensor %s", shape_str(&v->node->shape, s, sizeof s));
    break;
  }
  case V_LIST:
  case V_MAP:
    PUT("[");
    for (int i = 0; i < v->nitems; i++) {
      if (i == 8 || depth > 2) {
        PUT(", ...");
        break;
      }
      if (i)
        PUT(v->kind == V_MAP && i % 2 ? ": " : ", ");
      render(v->items[i], buf, size, len, depth + 1);
    }
    PUT("]");
    break;
  }
#undef PUT
}

char *value_str(Arena *a, const Value *v) {
  char buf[256];
  size_t len = 0;
  buf[0] = '\0';
  render(v, buf, sizeof buf, &len, 0);
  return arena_strdup(a, buf);
}

char *value_describe(Arena *a, const Value *v) {
  if (v->kind == V_TENSOR)
    return value_str(a, v);  /* "tensor 32x32x3" names its kind already */
  return arena_printf(a, "%s %s", value_kind_name(v->kind), value_str(a, v));
}
