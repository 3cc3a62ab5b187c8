<?php
/*
 * Install the throwaway WordPress (php-cli): the site, pretty permalinks (so /wp-json/
 * exists), a user with the role STORMHUB_WP_ROLE and an Application Password for it.
 * Prints {"user": ..., "password": ..., "user_id": ...} as JSON.
 */
define( 'WP_INSTALLING', true );
$stormhub_url            = getenv( 'STORMHUB_WP_URL' );
$_SERVER['HTTP_HOST']    = parse_url( $stormhub_url, PHP_URL_HOST ) . ':' . parse_url( $stormhub_url, PHP_URL_PORT );
$_SERVER['REQUEST_URI']  = '/';
$_SERVER['SERVER_NAME']  = parse_url( $stormhub_url, PHP_URL_HOST );

// No mail leaves a test: wp_install() would tell the administrator about the new site.
function wp_mail( $to, $subject, $message, $headers = '', $attachments = array() ) {
	return true;
}

require __DIR__ . '/wp-config.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';

$stormhub_installed = wp_install( 'StormHub newsroom (test)', 'admin', 'admin@example.org', false, '', wp_generate_password( 24 ) );
if ( is_wp_error( $stormhub_installed ) ) {
	fwrite( STDERR, $stormhub_installed->get_error_message() . "\n" );
	exit( 1 );
}
global $wp_rewrite;
$wp_rewrite->set_permalink_structure( '/%postname%/' );
flush_rewrite_rules( false );

$stormhub_user = wp_insert_user(
	array(
		'user_login' => 'stormhub',
		'user_pass'  => wp_generate_password( 24 ),
		'user_email' => 'stormhub@example.org',
		'role'       => getenv( 'STORMHUB_WP_ROLE' ) ?: 'editor',
	)
);
if ( is_wp_error( $stormhub_user ) ) {
	fwrite( STDERR, $stormhub_user->get_error_message() . "\n" );
	exit( 1 );
}
$stormhub_created = WP_Application_Passwords::create_new_application_password( $stormhub_user, array( 'name' => 'StormHub tests' ) );
if ( is_wp_error( $stormhub_created ) ) {
	fwrite( STDERR, $stormhub_created->get_error_message() . "\n" );
	exit( 1 );
}
echo wp_json_encode(
	array(
		'user'     => 'stormhub',
		'user_id'  => $stormhub_user,
		'password' => WP_Application_Passwords::chunk_password( $stormhub_created[0] ),
		'version'  => get_bloginfo( 'version' ),
	)
), "\n";
