/* Checks emitted C with libclang: each file must parse as C11 under
 * -Wall -Wextra with zero diagnostics (warnings included), and, with
 * --forbid NAME, must not contain NAME as an identifier token anywhere in
 * its own text (outside string literals and comments, which libclang lexes
 * as literals and skips). The second check is what makes a layer named
 * `x; system("rm -rf /")` safe: its characters may appear, but only inside
 * a literal or a comment.
 *
 * Usage: e2e_clang_check [-I DIR]... [--forbid NAME]... FILE.c...
 * Exit 0 when every file is clean, 1 otherwise. */
#include <clang-c/Index.h>
#include <stdio.h>
#include <string.h>

#define MAX_ARGS 64
#define MAX_SHOWN 10 /* diagnostics printed per file */

static int check_tokens(CXTranslationUnit tu, const char *path, const char *const *forbid, int nforbid) {
  CXFile file = clang_getFile(tu, path);
  if (!file) {
    fprintf(stderr, "%s: libclang lost the file\n", path);
    return 0;
  }
  size_t size = 0;
  clang_getFileContents(tu, file, &size);
  CXSourceRange all = clang_getRange(clang_getLocationForOffset(tu, file, 0),
                                     clang_getLocationForOffset(tu, file, (unsigned)size));
  CXToken *tokens = NULL;
  unsigned n = 0;
  clang_tokenize(tu, all, &tokens, &n);
  int ok = 1;
  for (unsigned i = 0; i < n; i++) {
    if (clang_getTokenKind(tokens[i]) != CXToken_Identifier && clang_getTokenKind(tokens[i]) != CXToken_Keyword)
      continue;
    CXString s = clang_getTokenSpelling(tu, tokens[i]);
    const char *text = clang_getCString(s);
    for (int k = 0; k < nforbid; k++)
      if (strcmp(text, forbid[k]) == 0) {
        unsigned line, col;
        clang_getSpellingLocation(clang_getTokenLocation(tu, tokens[i]), NULL, &line, &col, NULL);
        fprintf(stderr, "%s:%u:%u: identifier '%s' outside a literal or comment\n", path, line, col, text);
        ok = 0;
      }
    clang_disposeString(s);
  }
  clang_disposeTokens(tu, tokens, n);
  return ok;
}

int main(int argc, char **argv) {
  const char *args[MAX_ARGS] = {"-std=c11", "-Wall", "-Wextra", "-xc"};
  int nargs = 4;
  const char *forbid[MAX_ARGS];
  int nforbid = 0, nfiles = 0, ok = 1;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-I") == 0 && i + 1 < argc && nargs + 2 <= MAX_ARGS) {
      args[nargs++] = "-I";
      args[nargs++] = argv[++i];
    } else if (strcmp(argv[i], "--forbid") == 0 && i + 1 < argc && nforbid < MAX_ARGS) {
      forbid[nforbid++] = argv[++i];
    }
  }
  CXIndex index = clang_createIndex(0, 0);
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-I") == 0 || strcmp(argv[i], "--forbid") == 0) {
      i++;
      continue;
    }
    const char *path = argv[i];
    nfiles++;
    CXTranslationUnit tu = NULL;
    enum CXErrorCode e = clang_parseTranslationUnit2(index, path, args, nargs, NULL, 0,
                                                     CXTranslationUnit_DetailedPreprocessingRecord, &tu);
    if (e != CXError_Success || !tu) {
      fprintf(stderr, "%s: libclang could not parse it (error %d)\n", path, (int)e);
      ok = 0;
      continue;
    }
    unsigned nd = clang_getNumDiagnostics(tu);
    for (unsigned d = 0; d < nd && d < MAX_SHOWN; d++) {
      CXDiagnostic diag = clang_getDiagnostic(tu, d);
      CXString s = clang_formatDiagnostic(diag, clang_defaultDiagnosticDisplayOptions());
      fprintf(stderr, "%s\n", clang_getCString(s));
      clang_disposeString(s);
      clang_disposeDiagnostic(diag);
    }
    int file_ok = nd == 0 && check_tokens(tu, path, forbid, nforbid);
    printf("%s: %u diagnostics%s\n", path, nd, file_ok ? "" : "  FAIL");
    ok &= file_ok;
    clang_disposeTranslationUnit(tu);
  }
  clang_disposeIndex(index);
  if (nfiles == 0) {
    fprintf(stderr, "usage: %s [-I DIR]... [--forbid NAME]... FILE.c...\n", argv[0]);
    return 2;
  }
  return ok ? 0 : 1;
}
