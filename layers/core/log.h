// Logging through Boost.Log, set up once per process with the MPI rank as an attribute:
// "[time][rank N][severity] message". Rank 0 logs info; every rank logs warnings and errors.
#pragma once

#include <boost/log/sources/record_ostream.hpp>
#include <boost/log/sources/severity_logger.hpp>
#include <boost/log/trivial.hpp>

namespace alexnet {

using Severity = boost::log::trivial::severity_level;

// Installs the console sink (stderr) and the rank attribute. Safe to call again (reconfigures):
// main() calls it first with rank 0, then with the real rank once MPI is up.
// verbose: also log debug records.
void init_logging(int rank, bool verbose = false);

boost::log::sources::severity_logger_mt<Severity>& logger();

}  // namespace alexnet

#define ALEXNET_LOG(sev) BOOST_LOG_SEV(::alexnet::logger(), ::boost::log::trivial::sev)
#define LOG_DEBUG ALEXNET_LOG(debug)
#define LOG_INFO ALEXNET_LOG(info)
#define LOG_WARN ALEXNET_LOG(warning)
#define LOG_ERROR ALEXNET_LOG(error)
