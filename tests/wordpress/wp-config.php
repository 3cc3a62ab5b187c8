<?php
/*
 * The wp-config.php of the throwaway WordPress that tests/test_wordpress_real.py starts:
 * Debian's WordPress code (ABSPATH), a MariaDB on a unix socket in a temporary folder,
 * and this configuration instead of Debian's /etc/wordpress/config-<host>.php.
 * Everything particular to one run comes from STORMHUB_WP_* environment variables.
 */
define( 'DB_NAME', 'wordpress' );
define( 'DB_USER', 'root' );
define( 'DB_PASSWORD', '' );
define( 'DB_HOST', 'localhost:' . getenv( 'STORMHUB_WP_SOCKET' ) );
define( 'DB_CHARSET', 'utf8mb4' );
define( 'DB_COLLATE', '' );

foreach ( array( 'AUTH', 'SECURE_AUTH', 'LOGGED_IN', 'NONCE' ) as $stormhub_kind ) {
	define( $stormhub_kind . '_KEY', getenv( 'STORMHUB_WP_SALT' ) . $stormhub_kind . '-key' );
	define( $stormhub_kind . '_SALT', getenv( 'STORMHUB_WP_SALT' ) . $stormhub_kind . '-salt' );
}
$table_prefix = 'wp_';

define( 'WP_HOME', getenv( 'STORMHUB_WP_URL' ) );
define( 'WP_SITEURL', getenv( 'STORMHUB_WP_URL' ) );
// Served over http on loopback: Application Passwords need https unless the site is local.
define( 'WP_ENVIRONMENT_TYPE', 'local' );
define( 'WP_CONTENT_DIR', getenv( 'STORMHUB_WP_CONTENT' ) );
define( 'DISABLE_WP_CRON', true );
define( 'AUTOMATIC_UPDATER_DISABLED', true );
define( 'WP_HTTP_BLOCK_EXTERNAL', true ); // no request leaves the machine
define( 'WP_DEBUG', false );

define( 'ABSPATH', rtrim( getenv( 'STORMHUB_WP_ROOT' ) ?: '/usr/share/wordpress', '/' ) . '/' );
require_once ABSPATH . 'wp-settings.php';
