// Formatting of the project's errors (see error.h).
#include "core/error.h"

namespace alexnet {

void throw_error(const char* library, const std::string& what, const char* expr, const char* file, int line) {
  std::ostringstream os;
  os << library << " error: " << what << " at " << file << ":" << line << ": " << expr;
  throw Error(os.str());
}

}  // namespace alexnet
