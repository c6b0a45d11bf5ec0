// Boost.Log set-up (see log.h).
#include "core/log.h"

#include <boost/core/null_deleter.hpp>
#include <boost/log/attributes/constant.hpp>
#include <boost/log/core.hpp>
#include <boost/log/expressions.hpp>
#include <boost/log/sinks/sync_frontend.hpp>
#include <boost/log/sinks/text_ostream_backend.hpp>
#include <boost/log/support/date_time.hpp>
#include <boost/log/utility/setup/common_attributes.hpp>
#include <iostream>
#include <optional>

namespace alexnet {

namespace logging = boost::log;
namespace expr = boost::log::expressions;

BOOST_LOG_ATTRIBUTE_KEYWORD(a_rank, "Rank", int)
BOOST_LOG_ATTRIBUTE_KEYWORD(a_severity, "Severity", Severity)
BOOST_LOG_ATTRIBUTE_KEYWORD(a_time, "TimeStamp", boost::posix_time::ptime)

boost::log::sources::severity_logger_mt<Severity>& logger() {
  static boost::log::sources::severity_logger_mt<Severity> lg;
  return lg;
}

void init_logging(int rank, bool verbose) {
  auto core = logging::core::get();
  core->remove_all_sinks();
  static bool common_added = false;
  if (!common_added) {
    logging::add_common_attributes();
    common_added = true;
  }
  // Replace (not keep) the rank of an earlier call: main() logs as rank 0 until MPI is up.
  static std::optional<logging::attribute_set::iterator> rank_attr;
  if (rank_attr) core->remove_global_attribute(*rank_attr);
  rank_attr = core->add_global_attribute("Rank", logging::attributes::constant<int>(rank)).first;

  using Sink = logging::sinks::synchronous_sink<logging::sinks::text_ostream_backend>;
  auto sink = boost::make_shared<Sink>();
  sink->locked_backend()->add_stream(boost::shared_ptr<std::ostream>(&std::clog, boost::null_deleter()));
  sink->locked_backend()->auto_flush(true);
  sink->set_formatter(expr::stream << "[" << expr::format_date_time(a_time, "%Y-%m-%d %H:%M:%S.%f") << "][rank "
                                   << a_rank << "][" << a_severity << "] " << expr::smessage);
  const Severity min_info = verbose ? logging::trivial::debug : logging::trivial::info;
  if (rank == 0) {
    sink->set_filter(a_severity >= min_info);
  } else {
    sink->set_filter(a_severity >= logging::trivial::warning);
  }
  core->add_sink(sink);
}

}  // namespace alexnet
