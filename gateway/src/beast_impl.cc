// The one translation unit that compiles Boost.Asio (with its TLS layer) and
// Boost.Beast; every other TU sees only their declarations
// (BOOST_ASIO_SEPARATE_COMPILATION, BOOST_BEAST_SEPARATE_COMPILATION).
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
